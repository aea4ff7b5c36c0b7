//! Ingest stage, document preparation: feed bytes become UTF-8 text that
//! feed-rs reads, and the per-entry facts feed-rs drops (an entry's `xml:base`,
//! a lone `media:thumbnail`, a JSON Feed item's `image`) are read beside it.
//!
//! Pure text work with regexes and serde_json; it builds no items.

use std::sync::LazyLock;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};
use regex::Regex;
use url::Url;

use crate::fetch::decode_with_bom_first;

/// How much of a document is searched for its XML declaration.
const HEAD_BYTES: usize = 8192;

/// The document decoded to UTF-8 as an XML parser would (byte order mark, else
/// the XML declaration's `encoding`, else UTF-8; WHATWG labels, so ISO-8859-1 is
/// read as windows-1252), without its XML declaration(s). feed-rs then always reads
/// UTF-8: its own switching of encodings panics on a UTF-16 BOM that contradicts
/// the declaration. Invalid bytes become U+FFFD, as in feed readers.
pub(super) fn to_utf8(bytes: &[u8]) -> String {
    static DECLARATION: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?s)<\?xml\s.*?\?>").expect("a valid regex"));
    let text = decode_with_bom_first(bytes, declared_encoding);
    DECLARATION.replace_all(&text, "").into_owned()
}

/// Atom 0.3 and RSS 0.90 written in the names of their successors, which feed-rs
/// reads: their namespaces become Atom 1.0's and RSS 1.0's, and Atom 0.3's
/// `issued`/`modified` dates become `published`/`updated`. An `<rss>` root
/// without a `version` is read as RSS 2.0, as feedparser reads it.
pub(super) fn modernized(text: String) -> String {
    let text = with_rss_version(text);
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
        with_inline_xml_as_xhtml(text)
    }
}

/// Atom 1.0 content of an XML media type (`application/xhtml+xml`, `…+xml`,
/// `…/xml`) is inline XML (RFC 4287 4.1.3.3); feed-rs reads inline markup only
/// under `type="xhtml"` and refuses the whole feed otherwise, so such content
/// is marked `xhtml`. Out-of-line content (`src="…"`) is left as it is.
fn with_inline_xml_as_xhtml(text: String) -> String {
    static XML_CONTENT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"<content(\s[^>]*?)?\stype\s*=\s*["'](?:[\w.+-]+/[\w.+-]*\+xml|[\w.+-]+/xml)["']([^>]*)>"#)
            .expect("a valid regex")
    });
    if !XML_CONTENT.is_match(&text) {
        return text;
    }
    XML_CONTENT
        .replace_all(&text, |captures: &regex::Captures| {
            let before = captures.get(1).map_or("", |m| m.as_str());
            let after = &captures[2];
            if before.contains("src=") || after.contains("src=") || after.ends_with('/') {
                captures[0].to_owned()
            } else {
                format!("<content{before} type=\"xhtml\"{after}>")
            }
        })
        .into_owned()
}

/// `text` with `version="2.0"` on an `<rss>` root that has no version (feed-rs refuses it).
fn with_rss_version(text: String) -> String {
    static UNVERSIONED: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^(\s*(?:<!--.*?-->\s*)*<rss)(\s[^>]*)?>").expect("a valid regex"));
    let Some(captures) = UNVERSIONED.captures(&text) else {
        return text;
    };
    if captures.get(2).is_some_and(|attributes| attributes.as_str().contains("version")) {
        return text;
    }
    let end = captures.get(1).map_or(0, |root| root.end());
    format!("{} version=\"2.0\"{}", &text[..end], &text[end..])
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

/// UTF-16 when the bytes start as UTF-16 `<` does (no byte order mark needed);
/// else the `encoding` of an XML declaration at the start of ASCII-compatible
/// bytes; UTF-8 when there is none, or when it names UTF-16 (which such bytes cannot be).
fn declared_encoding(bytes: &[u8]) -> &'static Encoding {
    // XML 1.0 Appendix F: without a byte order mark, UTF-16 shows in how `<?` is laid out.
    match bytes {
        [0, b'<', 0, _, ..] => return UTF_16BE,
        [b'<', 0, _, 0, ..] => return UTF_16LE,
        _ => {}
    }
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
pub(super) fn document_base(text: &str, feed_url: &Url) -> Url {
    static ROOT_BASE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"<(?:feed|rss|channel|rdf:RDF)\b[^>]*?\sxml:base\s*=\s*["']([^"']*)["']"#).expect("a valid regex")
    });
    let before_entries = text.split("<item").next().unwrap_or_default().split("<entry").next().unwrap_or_default();
    ROOT_BASE
        .captures(before_entries)
        .and_then(|captures| feed_url.join(captures[1].trim()).ok())
        .and_then(crate::hygiene::web_base)
        .unwrap_or_else(|| feed_url.clone())
}

/// What feed-rs does not say about one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct EntryHints {
    /// What the entry's relative references resolve against: its own `xml:base`
    /// over the document's.
    pub base: Url,
    /// A `media:thumbnail` outside any `media:content`, or a JSON Feed item's `image`.
    pub image: Option<Url>,
}

/// One [`EntryHints`] per entry, in document order. The caller checks the count
/// against the entries feed-rs found: an `<item` inside a CDATA section would
/// shift them, and then none can be trusted.
pub(super) fn entry_hints(text: &str, document_base: &Url) -> Vec<EntryHints> {
    if text.trim_start().starts_with('{') {
        return json_hints(text, document_base);
    }
    static ENTRY: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<(?:entry|item)[\s>/]").expect("a valid regex"));
    static BASE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"^<(?:entry|item)\b[^>]*?\sxml:base\s*=\s*["']([^"']*)["']"#).expect("a valid regex")
    });
    static THUMBNAIL: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"<media:thumbnail\b[^>]*?\surl\s*=\s*["']([^"']+)["']"#).expect("a valid regex"));
    let starts: Vec<usize> = ENTRY.find_iter(text).map(|found| found.start()).collect();
    let ends = starts.iter().skip(1).copied().chain([text.len()]);
    starts
        .iter()
        .zip(ends)
        .map(|(&start, end)| {
            let chunk = &text[start..end];
            let own_base = BASE
                .captures(chunk)
                .and_then(|captures| document_base.join(captures[1].trim()).ok())
                .and_then(crate::hygiene::web_base);
            let base = own_base.unwrap_or_else(|| document_base.clone());
            let image = THUMBNAIL.captures(chunk).and_then(|captures| base.join(captures[1].trim()).ok());
            EntryHints { base, image }
        })
        .collect()
}

/// JSON Feed items' `image`, which feed-rs does not read.
fn json_hints(text: &str, document_base: &Url) -> Vec<EntryHints> {
    #[derive(serde::Deserialize)]
    struct Feed {
        items: Vec<JsonItem>,
    }
    #[derive(serde::Deserialize)]
    struct JsonItem {
        image: Option<String>,
    }
    let Ok(feed) = serde_json::from_str::<Feed>(text) else {
        return Vec::new();
    };
    feed.items
        .into_iter()
        .map(|item| EntryHints {
            base: document_base.clone(),
            image: item.image.and_then(|image| document_base.join(image.trim()).ok()),
        })
        .collect()
}
