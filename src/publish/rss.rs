//! Publish stage, RSS 2.0: renders a [`FeedDoc`] with the `rss` crate.
//!
//! Pure: no I/O, no clock; entries come out in the order given. Names go to
//! `dc:creator` (RSS `<author>` must be an e-mail address), the self link to
//! `atom:link`, images to `media:content`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rss::extension::dublincore::DublinCoreExtension;
use rss::extension::{Extension, ExtensionMap};
use rss::{Category, Channel, Enclosure, Guid, Item, Source};

use crate::hygiene::is_web_url_text;

use super::{GENERATOR, RSS_FILE, escape_html, media_type, plain_summary, whole_seconds, xml_safe};
use crate::model::{FeedDoc, FeedEntry, FeedMeta};

const ATOM_NS: &str = "http://www.w3.org/2005/Atom";
const MEDIA_NS: &str = "http://search.yahoo.com/mrss/";

/// Renders `doc` as an RSS 2.0 document (UTF-8, indented, ending with a newline).
pub fn render(doc: &FeedDoc) -> String {
    render_as(doc, RSS_FILE)
}

/// Like [`render`], for a document published as `file` in the feed's folder
/// (its self link names that file).
pub fn render_as(doc: &FeedDoc, file: &str) -> String {
    let channel = channel(doc, file);
    let bytes = channel.pretty_write_to(Vec::new(), b' ', 2).expect("writing XML into a Vec cannot fail");
    let mut xml = String::from_utf8(bytes).expect("the rss crate writes UTF-8");
    xml.push('\n');
    xml
}

fn channel(doc: &FeedDoc, file: &str) -> Channel {
    let meta = &doc.meta;
    let items: Vec<Item> = doc.entries.iter().map(item).collect();
    let mut namespaces = BTreeMap::new();
    let mut extensions = ExtensionMap::new();
    let mut atom_links: Vec<Extension> = Vec::new();
    if let Some(self_url) = meta.file_url(file) {
        atom_links.push(atom_link(&[("href", &self_url), ("rel", "self"), ("type", "application/rss+xml")]));
    }
    if let Some(hub) = &meta.hub {
        atom_links.push(atom_link(&[("href", hub), ("rel", "hub")]));
    }
    if !atom_links.is_empty() {
        namespaces.insert("atom".to_owned(), ATOM_NS.to_owned());
        extensions.insert("atom".to_owned(), BTreeMap::from([("link".to_owned(), atom_links)]));
    }
    if items.iter().any(|item| item.extensions.contains_key("media")) {
        namespaces.insert("media".to_owned(), MEDIA_NS.to_owned());
    }
    Channel {
        title: xml_safe(&meta.title).into_owned(),
        link: xml_safe(&meta.home_page_url).into_owned(),
        description: description(meta),
        language: meta.language.as_deref().map(|l| xml_safe(l).into_owned()),
        last_build_date: Some(rfc2822(meta.updated)),
        generator: Some(GENERATOR.to_owned()),
        ttl: meta.refresh_every.map(|every| (every.as_secs() / 60).max(1).to_string()),
        items,
        extensions,
        namespaces,
        ..Channel::default()
    }
}

/// RSS requires a channel description; the title stands in for a blank one.
fn description(meta: &FeedMeta) -> String {
    let text = if meta.description.trim().is_empty() { &meta.title } else { &meta.description };
    xml_safe(text).into_owned()
}

/// `<atom:link …/>` with these attributes: the self link, the WebSub hub.
fn atom_link(attrs: &[(&str, &str)]) -> Extension {
    Extension {
        name: "atom:link".to_owned(),
        attrs: attrs.iter().map(|(key, value)| ((*key).to_owned(), xml_safe(value).into_owned())).collect(),
        ..empty_element()
    }
}

fn item(entry: &FeedEntry) -> Item {
    let item = &entry.item;
    let mut extensions = ExtensionMap::new();
    if let Some(image) = item.image.as_deref().filter(|url| is_web_url_text(url)) {
        extensions.insert("media".to_owned(), media_image(image));
    }
    Item {
        title: Some(xml_safe(&item.title).into_owned()),
        link: Some(xml_safe(&item.link).into_owned()).filter(|link| !link.is_empty()),
        // RSS readers take the description as HTML: the plain text is escaped for it.
        description: plain_summary(item).map(|text| escape_html(&text)),
        categories: item.categories.iter().map(|name| category(name)).collect(),
        enclosure: item.enclosures.first().map(enclosure),
        guid: Some(guid(&item.guid, &item.link)),
        pub_date: Some(rfc2822_in(entry.published, entry.timezone)),
        source: entry.origin.as_ref().and_then(|origin| {
            is_web_url_text(&origin.feed_url).then(|| Source {
                url: xml_safe(&origin.feed_url).into_owned(),
                title: Some(xml_safe(&origin.title).into_owned()),
            })
        }),
        content: item.content.as_deref().map(|html| xml_safe(html).into_owned()),
        dublin_core_ext: creators(&item.authors),
        extensions,
        ..Item::default()
    }
}

/// The guid is a permalink only when it is the item's own http(s) link.
fn guid(guid: &str, link: &str) -> Guid {
    Guid { value: xml_safe(guid).into_owned(), permalink: guid == link && is_web_url_text(guid) }
}

fn category(name: &str) -> Category {
    Category { name: xml_safe(name).into_owned(), domain: None }
}

/// RSS allows one enclosure and requires its length: 0 when unknown.
fn enclosure(enclosure: &crate::model::Enclosure) -> Enclosure {
    Enclosure {
        url: xml_safe(&enclosure.url).into_owned(),
        length: enclosure.length.unwrap_or(0).to_string(),
        mime_type: media_type(&xml_safe(&enclosure.mime_type)).to_owned(),
    }
}

fn creators(authors: &[String]) -> Option<DublinCoreExtension> {
    (!authors.is_empty()).then(|| DublinCoreExtension {
        creators: authors.iter().map(|a| xml_safe(a).into_owned()).collect(),
        ..DublinCoreExtension::default()
    })
}

/// `<media:content url="…" medium="image"/>` (the only image Mailchimp's RSS
/// campaigns show) and `<media:thumbnail url="…"/>` (what most readers show
/// beside the title), keyed for an [`ExtensionMap`].
fn media_image(url: &str) -> BTreeMap<String, Vec<Extension>> {
    let url = xml_safe(url).into_owned();
    let content = Extension {
        name: "media:content".to_owned(),
        attrs: BTreeMap::from([("medium".to_owned(), "image".to_owned()), ("url".to_owned(), url.clone())]),
        ..empty_element()
    };
    let thumbnail = Extension {
        name: "media:thumbnail".to_owned(),
        attrs: BTreeMap::from([("url".to_owned(), url)]),
        ..empty_element()
    };
    BTreeMap::from([("content".to_owned(), vec![content]), ("thumbnail".to_owned(), vec![thumbnail])])
}

/// An extension element written `<name …></name>` on one line: the empty text
/// keeps the indenting writer from breaking the line inside it.
fn empty_element() -> Extension {
    Extension { value: Some(String::new()), ..Extension::default() }
}

/// RFC 2822 with a numeric zone: `Thu, 24 Nov 2022 00:00:00 +0000`.
fn rfc2822(time: DateTime<Utc>) -> String {
    whole_seconds(time).to_rfc2822()
}

/// RFC 2822 with `zone`'s offset at that time: `Thu, 24 Nov 2022 12:00:00 +0100`.
fn rfc2822_in(time: DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    whole_seconds(time).with_timezone(&zone).to_rfc2822()
}

#[cfg(test)]
mod tests {
    use feed_rs::model::FeedType;

    use super::*;
    use crate::publish::tests::{BASE_URL, channel_doc, sample_doc};

    fn parse(xml: &str) -> feed_rs::model::Feed {
        feed_rs::parser::parse(xml.as_bytes()).expect("feed-rs reads our RSS")
    }

    #[test]
    fn feed_rs_reads_back_titles_links_dates_and_ids() {
        let doc = sample_doc(Some(BASE_URL));
        let feed = parse(&render(&doc));
        assert_eq!(feed.feed_type, FeedType::RSS2);
        assert_eq!(feed.title.unwrap().content, "Octopus Project: activities");
        assert_eq!(feed.updated, Some(doc.meta.updated));
        assert_eq!(feed.language.as_deref(), Some("en"));
        assert_eq!(feed.entries.len(), 3);
        for (entry, expected) in feed.entries.iter().zip(&doc.entries) {
            assert_eq!(entry.id, expected.item.guid);
            assert_eq!(entry.links[0].href, expected.item.link);
            assert_eq!(entry.published, Some(expected.published));
        }
        let titles: Vec<String> = feed.entries.iter().map(|e| e.title.clone().unwrap().content).collect();
        assert_eq!(
            titles,
            [
                "Octopus Conference 2023 – “Cooperation against Cybercrime”",
                "Budget < 5 M€ for 2024 & beyond",
                "Publications: “Budapest Convention” guide",
            ]
        );
    }

    #[test]
    fn text_survives_escaping_and_controls_vanish() {
        let xml = render(&sample_doc(None));
        assert!(!xml.contains('\u{1}'));
        assert!(xml.contains("<title>Budget &lt; 5 M€ for 2024 &amp; beyond</title>"), "{xml}");
        let feed = parse(&xml);
        // The description is HTML: the plain text's `&amp;` stays literal text.
        let summary = feed.entries[0].summary.as_ref().unwrap();
        assert_eq!(summary.content, "Costs: 10 € per day; Tom &amp;amp; Jerry’s notes");
        let content = feed.entries[0].content.as_ref().unwrap().body.as_deref().unwrap();
        assert!(content.contains("<a href=\"https://www.coe.int/report?a=1&amp;b=2\">report</a>"));
    }

    #[test]
    fn description_falls_back_to_content_text_and_is_never_empty() {
        let xml = render(&sample_doc(None));
        assert!(xml.contains("<description><![CDATA[Guide The updated guide. EN FR]]></description>"));
        assert!(!xml.contains("<description></description>"));
        assert_eq!(xml.matches("<description>").count(), 3, "channel + two items: {xml}");
        assert_eq!(xml.matches("<content:encoded>").count(), 2);
    }

    #[test]
    fn guid_is_a_permalink_only_when_it_is_the_http_link() {
        assert!(guid("https://a.example/x", "https://a.example/x").permalink);
        assert!(!guid("https://a.example/x", "https://a.example/y").permalink);
        assert!(!guid("urn:uuid:5b1c4a3e-0d2f-8a6b-9c1d-2e3f4a5b6c7d", "").permalink);
        let xml = render(&sample_doc(None));
        assert!(xml.contains("<guid isPermaLink=\"false\">urn:uuid:"));
        assert_eq!(xml.matches("<guid>https://").count(), 2);
    }

    #[test]
    fn first_enclosure_only_with_zero_length_when_unknown() {
        let mut doc = sample_doc(None);
        let feed = parse(&render(&doc));
        let media = &feed.entries[2].media;
        assert_eq!(media.len(), 1);
        let content = &media[0].content[0];
        assert_eq!(content.url.as_ref().unwrap().as_str(), "https://rm.coe.int/guide-en/1680a4a8a5");
        assert_eq!(content.size, Some(1_234_567));
        assert_eq!(content.content_type.as_ref().unwrap().to_string(), "application/pdf");

        doc.entries[2].item.enclosures.remove(0);
        let xml = render(&doc);
        assert!(
            xml.contains(
                "<enclosure url=\"https://rm.coe.int/guide-fr/1680a4a8a6\" length=\"0\" type=\"application/pdf\"/>"
            ),
            "{xml}"
        );
    }

    #[test]
    fn authors_are_dc_creators_and_categories_are_kept() {
        let xml = render(&sample_doc(None));
        assert!(xml.contains("xmlns:dc=\"http://purl.org/dc/elements/1.1/\""));
        assert!(xml.contains("<dc:creator>Jane Doe</dc:creator>"));
        assert!(!xml.contains("<author>"));
        let feed = parse(&xml);
        let names: Vec<_> = feed.entries[0].authors.iter().map(|p| p.name.as_deref()).collect();
        assert!(names.contains(&Some("Jane Doe")), "{names:?}");
        let terms: Vec<_> = feed.entries[0].categories.iter().map(|c| c.term.as_str()).collect();
        assert_eq!(terms, ["cybercrime", "e-evidence"]);
    }

    #[test]
    fn self_link_only_with_a_base_url() {
        let with = render(&sample_doc(Some(BASE_URL)));
        assert!(with.contains(
            "<atom:link href=\"https://feeds.example.org/octopus/rss.xml\" rel=\"self\" type=\"application/rss+xml\">"
        ), "{with}");
        assert!(with.contains("xmlns:atom=\"http://www.w3.org/2005/Atom\""));
        let without = render(&sample_doc(None));
        assert!(!without.contains("atom:link") && !without.contains("xmlns:atom"));
    }

    #[test]
    fn image_is_a_media_content_and_a_media_thumbnail() {
        let xml = render(&sample_doc(None));
        assert!(xml.contains("xmlns:media=\"http://search.yahoo.com/mrss/\""));
        let feed = parse(&xml);
        let media = &feed.entries[0].media;
        let urls: Vec<_> =
            media.iter().flat_map(|m| &m.content).filter_map(|c| c.url.as_ref().map(|u| u.as_str())).collect();
        assert_eq!(urls, ["https://www.coe.int/image?w=1&h=2"]);
        let thumbnails: Vec<_> = media.iter().flat_map(|m| &m.thumbnails).map(|t| t.image.uri.as_str()).collect();
        assert_eq!(thumbnails, ["https://www.coe.int/image?w=1&h=2"]);
    }

    #[test]
    fn channel_items_name_their_source() {
        let xml = render(&channel_doc(Some(BASE_URL)));
        assert!(xml.contains("<source url=\"https://feeds.example.org/news/rss.xml\">Source “news”</source>"), "{xml}");
        assert_eq!(xml.matches("<source ").count(), 3);
        assert!(!render(&sample_doc(None)).contains("<source"));
    }

    #[test]
    fn dates_are_rfc_2822_with_a_numeric_zone() {
        let xml = render(&sample_doc(None));
        assert!(xml.contains("<pubDate>Wed, 13 Dec 2023 09:00:00 +0000</pubDate>"), "{xml}");
        assert!(xml.contains("<lastBuildDate>Thu, 14 Dec 2023 10:00:00 +0000</lastBuildDate>"));
        assert!(xml.contains("<generator>octofeed</generator>"));
    }

    #[test]
    fn same_doc_same_bytes() {
        let doc = channel_doc(Some(BASE_URL));
        assert_eq!(render(&doc), render(&doc));
    }

    #[test]
    fn empty_feed_is_still_a_channel_with_a_description() {
        let mut doc = sample_doc(None);
        doc.entries.clear();
        doc.meta.description = " ".into();
        let channel = rss::Channel::read_from(render(&doc).as_bytes()).unwrap();
        assert_eq!(channel.description, "Octopus Project: activities");
        assert!(channel.items.is_empty());
    }
}
