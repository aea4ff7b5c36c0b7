//! Publish stage: renders a [`FeedDoc`] as RSS 2.0, Atom 1.0 and JSON Feed 1.1
//! (plus `index.html` and `feeds.opml`), and holds the one table of what files
//! a feed has and how each is served ([`FEED_FORMATS`], [`SITE_FILES`]).
//!
//! The renderers are pure: the same document gives the same bytes, nothing reads
//! the clock. They render entries in the order given; choosing and sorting them
//! is the caller's job. Only [`write_feed`] writes, through an [`Output`].

pub mod atom;
pub mod index;
pub mod json;
pub mod opml;
pub mod rss;

use std::borrow::Cow;
use std::time::Duration;

use crate::model::{FeedDoc, Item};
use crate::output::{Headers, Output, OutputError};
use crate::text::{is_xml_char, truncate_words};
use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use ego_tree::iter::Edge;
use scraper::{Html, Node};

/// File name of a feed's RSS 2.0 document inside its folder.
pub const RSS_FILE: &str = "rss.xml";
/// File name of a feed's Atom 1.0 document inside its folder.
pub const ATOM_FILE: &str = "atom.xml";
/// File name of a feed's JSON Feed 1.1 document inside its folder.
pub const JSON_FILE: &str = "feed.json";
/// File name of a feed's newsletter feed (RSS 2.0, dated by when items were first seen).
pub const NEWSLETTER_FILE: &str = "new.xml";
/// The site's page of every feed, at the top of the output folder.
pub const INDEX_FILE: &str = "index.html";
/// The site's subscription list, at the top of the output folder.
pub const OPML_FILE: &str = "feeds.opml";

/// One file of a feed's folder: its name, the media type it is served with,
/// what `index.html` calls it, and which rendering it holds. Publishing,
/// serving, the index and WebSub all read [`FEED_FORMATS`].
pub struct FeedFormat {
    pub file: &'static str,
    pub content_type: &'static str,
    pub label: &'static str,
    pub text: fn(&Rendered) -> &str,
}

/// Every file a feed's folder holds, in the order the index lists them.
pub const FEED_FORMATS: [FeedFormat; 4] = [
    FeedFormat { file: RSS_FILE, content_type: "application/rss+xml; charset=utf-8", label: "RSS", text: |r| &r.rss },
    FeedFormat {
        file: ATOM_FILE,
        content_type: "application/atom+xml; charset=utf-8",
        label: "Atom",
        text: |r| &r.atom,
    },
    FeedFormat {
        file: JSON_FILE,
        content_type: "application/feed+json; charset=utf-8",
        label: "JSON Feed",
        text: |r| &r.json,
    },
    FeedFormat {
        file: NEWSLETTER_FILE,
        content_type: "application/rss+xml; charset=utf-8",
        label: "newsletter RSS",
        text: |r| &r.newsletter,
    },
];

/// A file at the top of the output: its name and the media type it is served with.
pub struct SiteFile {
    pub file: &'static str,
    pub content_type: &'static str,
}

/// The site-wide files: [`INDEX_FILE`] first, then [`OPML_FILE`].
pub const SITE_FILES: [SiteFile; 2] = [
    SiteFile { file: INDEX_FILE, content_type: "text/html; charset=utf-8" },
    SiteFile { file: OPML_FILE, content_type: "text/x-opml; charset=utf-8" },
];

/// `max-age` when no source says how often it is refreshed.
const DEFAULT_MAX_AGE: u64 = 300;

/// The `Cache-Control` a feed is served and uploaded with: cacheable for as
/// long as it goes without a refresh (what its RSS `<ttl>` says).
pub fn cache_control(refresh_every: Option<Duration>) -> String {
    let seconds = refresh_every.map_or(DEFAULT_MAX_AGE, |every| every.as_secs());
    format!("public, max-age={seconds}")
}

/// The name the generator elements of every format give.
const GENERATOR: &str = "octofeed";
/// Longest plain-text excerpt taken from `content` when an item has no summary.
const EXCERPT_CHARS: usize = 300;

/// One feed rendered in the three formats, and its newsletter feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub rss: String,
    pub atom: String,
    pub json: String,
    /// `new.xml`: RSS 2.0 of the feed's newsletter document.
    pub newsletter: String,
}

/// Writes `<id>/{rss.xml,atom.xml,feed.json,new.xml}` to `output`, each only
/// when its bytes differ from what is there (so unchanged output keeps its
/// modification time), each replaced whole. Returns how many were (re)written.
pub fn write_feed(
    output: &dyn Output,
    id: &str,
    rendered: &Rendered,
    cache_control: &str,
) -> Result<usize, OutputError> {
    let mut written = 0;
    for format in &FEED_FORMATS {
        let headers = Headers { content_type: format.content_type, cache_control };
        let name = format!("{id}/{}", format.file);
        if output.write_if_changed(&name, (format.text)(rendered).as_bytes(), headers)? {
            written += 1;
        }
    }
    Ok(written)
}

/// Renders one feed in RSS 2.0, Atom 1.0 and JSON Feed 1.1, and its newsletter
/// document (the same feed dated by first sight, see `feeds`) as RSS 2.0.
pub fn render_feed(doc: &FeedDoc, newsletter: &FeedDoc) -> Rendered {
    Rendered {
        rss: rss::render(doc),
        atom: atom::render(doc),
        json: json::render(doc),
        newsletter: rss::render_as(newsletter, NEWSLETTER_FILE),
    }
}

/// `text` without the characters XML 1.0 forbids: C0 controls other than tab,
/// line feed and carriage return, and U+FFFE/U+FFFF. Borrows when nothing is dropped.
pub fn xml_safe(text: &str) -> Cow<'_, str> {
    if text.chars().all(is_xml_char) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.chars().filter(|&c| is_xml_char(c)).collect())
    }
}

/// Plain text made safe for HTML text and quoted attribute values (after [`xml_safe`]).
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in xml_safe(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The item's short plain text: its summary, else an excerpt of its content's text.
/// `None` when it has neither (or both are blank).
fn plain_summary(item: &Item) -> Option<String> {
    let summary = item.summary.as_deref().map(str::trim).filter(|s| !s.is_empty());
    match summary {
        Some(summary) => Some(summary.to_owned()),
        None => item
            .content
            .as_deref()
            .map(html_to_text)
            .filter(|text| !text.is_empty())
            .map(|text| truncate_words(&text, EXCERPT_CHARS)),
    }
}

/// The text of an HTML fragment, with block elements apart and whitespace collapsed.
fn html_to_text(html: &str) -> String {
    let fragment = Html::parse_fragment(html);
    let mut text = String::new();
    for edge in fragment.root_element().traverse() {
        let (Edge::Open(node) | Edge::Close(node)) = edge;
        match node.value() {
            Node::Text(chunk) if matches!(edge, Edge::Open(_)) => text.push_str(chunk),
            Node::Element(element) if !INLINE_ELEMENTS.contains(&element.name()) => text.push(' '),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Elements whose edges do not separate words.
const INLINE_ELEMENTS: [&str; 26] = [
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "del", "dfn", "em", "i", "ins", "kbd", "mark", "q", "s",
    "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var",
];

/// A time with its fraction of a second dropped, as every format shows whole seconds.
fn whole_seconds(time: DateTime<Utc>) -> DateTime<Utc> {
    time.trunc_subsecs(0)
}

/// RFC 3339 in UTC with `Z`: `2022-11-24T00:00:00Z`.
fn rfc3339(time: DateTime<Utc>) -> String {
    whole_seconds(time).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// RFC 3339 with `zone`'s offset at that time: `2022-11-24T12:00:00+01:00` (`Z` in UTC).
fn rfc3339_in(time: DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    whole_seconds(time).with_timezone(&zone).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `mime` when it looks like `type/subtype`, else `application/octet-stream`.
fn media_type(mime: &str) -> &str {
    let mime = mime.trim();
    let valid = mime.split_once('/').is_some_and(|(kind, sub)| {
        let token = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c));
        token(kind) && token(sub.split(';').next().unwrap_or(sub).trim())
    });
    if valid { mime } else { "application/octet-stream" }
}

#[cfg(test)]
pub(crate) mod tests {

    //! Shared fixtures for the renderers' tests, and tests of the feed writer and helpers.

    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::model::{Enclosure, FeedEntry, FeedMeta, Origin};

    pub(crate) const BASE_URL: &str = "https://feeds.example.org/";

    pub(crate) fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    /// A realistic source feed: curly quotes, dashes, €, `&amp;`-looking text, `<` in a
    /// title, a control character, content with a link, an undated item, attachments.
    pub(crate) fn sample_doc(base_url: Option<&str>) -> FeedDoc {
        let entries = vec![
            FeedEntry {
                item: Item {
                    guid: "https://www.coe.int/en/web/cybercrime/-/octopus-2023".into(),
                    link: "https://www.coe.int/en/web/cybercrime/-/octopus-2023".into(),
                    title: "Octopus Conference 2023 – “Cooperation against Cybercrime”".into(),
                    summary: Some("Costs: 10 € per day; Tom &amp; Jerry’s \u{1}notes".into()),
                    content: Some(
                        "<p>Read the <a href=\"https://www.coe.int/report?a=1&amp;b=2\">\
                         report</a> &amp; more.</p>"
                            .into(),
                    ),
                    published: Some(at(2023, 12, 13, 9)),
                    revised: None,
                    date_text: Some("13-15 December 2023".into()),
                    location: Some("Bucharest, Romania".into()),
                    authors: vec!["Jane Doe".into(), "Cybercrime Programme Office".into()],
                    categories: vec!["cybercrime".into(), "e-evidence".into()],
                    image: Some("https://www.coe.int/image?w=1&h=2".into()),
                    enclosures: vec![],
                },
                published: at(2023, 12, 13, 9),
                updated: at(2023, 12, 14, 10),
                origin: None,
                timezone: chrono_tz::Tz::UTC,
            },
            FeedEntry {
                item: Item {
                    guid: "urn:uuid:5b1c4a3e-0d2f-8a6b-9c1d-2e3f4a5b6c7d".into(),
                    link: "https://www.coe.int/en/web/cybercrime/octopus-project".into(),
                    title: "Budget < 5 M€ for \u{1}2024 & beyond".into(),
                    summary: None,
                    content: None,
                    published: None,
                    date_text: None,
                    ..Item::default()
                },
                published: at(2023, 11, 2, 7),
                updated: at(2023, 11, 2, 7),
                origin: None,
                timezone: chrono_tz::Tz::UTC,
            },
            FeedEntry {
                item: Item {
                    guid: "https://www.coe.int/en/web/cybercrime/-/guide".into(),
                    link: "https://www.coe.int/en/web/cybercrime/-/guide".into(),
                    title: "Publications: “Budapest Convention” guide".into(),
                    summary: None,
                    content: Some(
                        "<h2>Guide</h2><p>The <em>updated</em> guide.</p><ul><li>EN</li>\
                         <li>FR</li></ul>"
                            .into(),
                    ),
                    published: Some(at(2021, 11, 1, 0)),
                    date_text: Some("November 2021".into()),
                    enclosures: vec![
                        Enclosure {
                            url: "https://rm.coe.int/guide-en/1680a4a8a5".into(),
                            mime_type: "application/pdf".into(),
                            length: Some(1_234_567),
                            title: Some("EN".into()),
                        },
                        Enclosure {
                            url: "https://rm.coe.int/guide-fr/1680a4a8a6".into(),
                            mime_type: "application/pdf".into(),
                            length: None,
                            title: Some("FR".into()),
                        },
                    ],
                    ..Item::default()
                },
                published: at(2021, 11, 1, 0),
                updated: at(2021, 11, 1, 0),
                origin: None,
                timezone: chrono_tz::Tz::UTC,
            },
        ];
        FeedDoc {
            meta: FeedMeta {
                id: "octopus".into(),
                title: "Octopus Project: activities".into(),
                description: "News of the Octopus Project – cybercrime & e‑evidence.".into(),
                home_page_url: "https://www.coe.int/en/web/cybercrime/octopus-project".into(),
                base_url: base_url.map(str::to_owned),
                language: Some("en".into()),
                updated: at(2023, 12, 14, 10),
                site_title: "Council of Europe — cybercrime news".into(),
                refresh_every: Some(std::time::Duration::from_secs(6 * 3600)),
                hub: None,
            },
            entries,
        }
    }

    /// A channel over two sources: the sample's entries, each with an origin.
    pub(crate) fn channel_doc(base_url: Option<&str>) -> FeedDoc {
        let mut doc = sample_doc(base_url);
        for (n, entry) in doc.entries.iter_mut().enumerate() {
            let source_id = if n % 2 == 0 { "octopus" } else { "news" };
            let feed_url = match base_url {
                Some(base) => format!("{base}{source_id}/rss.xml"),
                None => format!("https://www.coe.int/en/web/cybercrime/{source_id}"),
            };
            entry.origin = Some(Origin {
                source_id: source_id.into(),
                title: format!("Source “{source_id}”"),
                feed_url,
                home_page_url: format!("https://www.coe.int/en/web/cybercrime/{source_id}"),
            });
        }
        doc.meta.id = "cybercrime".into();
        doc.meta.title = "Council of Europe: all cybercrime news".into();
        doc
    }

    #[test]
    fn xml_safe_drops_only_forbidden_characters() {
        assert!(matches!(xml_safe("Tab\tand “quotes” €"), Cow::Borrowed(_)));
        assert_eq!(xml_safe("a\u{1}b\u{8}c\u{1F}d\u{FFFE}e\u{FFFF}f"), "abcdef");
        assert_eq!(xml_safe("line\r\nnext\u{7F}\u{10FFFF}"), "line\r\nnext\u{7F}\u{10FFFF}");
    }

    #[test]
    fn plain_summary_prefers_summary_then_content_text() {
        let doc = sample_doc(None);
        let [first, undated, guide] = &doc.entries[..] else { panic!("three entries") };
        assert_eq!(plain_summary(&first.item).as_deref(), first.item.summary.as_deref());
        assert_eq!(plain_summary(&undated.item), None);
        assert_eq!(plain_summary(&guide.item).as_deref(), Some("Guide The updated guide. EN FR"));
    }

    #[test]
    fn long_content_is_cut_at_a_word() {
        let words = "word ".repeat(100);
        let cut = truncate_words(&words, EXCERPT_CHARS);
        assert!(cut.ends_with("word…"), "{cut}");
        assert!(cut.chars().count() <= EXCERPT_CHARS + 1);
        assert_eq!(truncate_words("short text", EXCERPT_CHARS), "short text");
    }

    #[test]
    fn dates_are_whole_seconds_in_utc() {
        let time = at(2022, 11, 24, 0) + chrono::Duration::milliseconds(1500);
        assert_eq!(rfc3339(time), "2022-11-24T00:00:01Z");
    }

    #[test]
    fn bad_media_types_fall_back_to_octet_stream() {
        assert_eq!(media_type("application/pdf"), "application/pdf");
        assert_eq!(media_type("text/html; charset=utf-8"), "text/html; charset=utf-8");
        assert_eq!(media_type(""), "application/octet-stream");
        assert_eq!(media_type("pdf"), "application/octet-stream");
        assert_eq!(media_type("a b/c"), "application/octet-stream");
        assert_eq!(media_type(" image/png "), "image/png");
    }

    #[test]
    fn a_websub_hub_is_named_in_every_format() {
        let mut doc = sample_doc(Some(BASE_URL));
        doc.meta.hub = Some("https://hub.example.net/".into());
        let rendered = render_feed(&doc, &doc);
        for xml in [&rendered.rss, &rendered.newsletter] {
            let feed = feed_rs::parser::parse(xml.as_bytes()).unwrap();
            assert!(xml.contains(r#"<atom:link href="https://hub.example.net/" rel="hub""#), "{xml}");
            assert!(feed.links.iter().any(|link| link.rel.as_deref() == Some("self")), "{xml}");
        }
        let atom = feed_rs::parser::parse(rendered.atom.as_bytes()).unwrap();
        let hubs: Vec<&str> = atom
            .links
            .iter()
            .filter(|link| link.rel.as_deref() == Some("hub"))
            .map(|link| link.href.as_str())
            .collect();
        assert_eq!(hubs, ["https://hub.example.net/"]);
        let json: serde_json::Value = serde_json::from_str(&rendered.json).unwrap();
        assert_eq!(json["hubs"], serde_json::json!([{"type": "WebSub", "url": "https://hub.example.net/"}]));
        let without = render_feed(&sample_doc(Some(BASE_URL)), &sample_doc(Some(BASE_URL)));
        assert!(!without.rss.contains("rel=\"hub\"") && !without.atom.contains("rel=\"hub\""));
    }

    #[test]
    fn render_feed_is_deterministic() {
        let doc = channel_doc(Some(BASE_URL));
        assert_eq!(render_feed(&doc, &doc), render_feed(&doc.clone(), &doc.clone()));
    }

    #[test]
    fn write_feed_writes_four_files_then_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let output = crate::output::folder::Folder::new(dir.path().to_path_buf());
        let doc = sample_doc(Some(BASE_URL));
        let rendered = render_feed(&doc, &doc);
        let cache = cache_control(None);
        assert_eq!(write_feed(&output, "octopus", &rendered, &cache).unwrap(), 4);
        assert_eq!(write_feed(&output, "octopus", &rendered, &cache).unwrap(), 0);
        let names = output.list("octopus/").unwrap();
        assert_eq!(names, ["octopus/atom.xml", "octopus/feed.json", "octopus/new.xml", "octopus/rss.xml"]);
        assert_eq!(output.read("octopus/rss.xml").unwrap().unwrap().bytes, rendered.rss.as_bytes());

        let mut changed = rendered.clone();
        changed.json.push(' ');
        assert_eq!(write_feed(&output, "octopus", &changed, &cache).unwrap(), 1);
    }

    #[test]
    fn feeds_are_cacheable_until_their_next_refresh() {
        assert_eq!(cache_control(Some(std::time::Duration::from_secs(6 * 3600))), "public, max-age=21600");
        assert_eq!(cache_control(None), "public, max-age=300");
    }
}
