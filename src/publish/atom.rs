//! Publish stage, Atom 1.0 (RFC 4287): renders a [`FeedDoc`] with the
//! `atom_syndication` crate.
//!
//! Pure: no I/O, no clock; entries come out in the order given. The feed's
//! author is the site, so entries without authors stay valid.

use std::collections::BTreeMap;

use atom_syndication::extension::{Extension, ExtensionMap};
use atom_syndication::{
    Category, Content, Entry, Feed, FixedDateTime, Generator, Link, Person, Source, Text, WriteConfig,
};
use chrono::{DateTime, Utc};

use crate::hygiene::is_web_url_text;

use super::{ATOM_FILE, GENERATOR, escape_html, media_type, whole_seconds, xml_safe};
use crate::identity::uuid_urn;
use crate::model::{FeedDoc, FeedEntry, FeedMeta, Origin};

const MEDIA_NS: &str = "http://search.yahoo.com/mrss/";

/// Renders `doc` as an Atom 1.0 document (UTF-8, indented, ending with a newline).
pub fn render(doc: &FeedDoc) -> String {
    let config = WriteConfig { write_document_declaration: true, indent_size: Some(2) };
    let bytes = feed(doc).write_with_config(Vec::new(), config).expect("writing XML into a Vec cannot fail");
    let mut xml = String::from_utf8(bytes).expect("atom_syndication writes UTF-8");
    xml.push('\n');
    xml
}

/// The feed's `<id>`: its own `atom.xml` URL when the site has a `base_url`, else a
/// name-based `urn:uuid:` over the feed id and home page, stable across runs.
pub fn feed_id(base_url: Option<&str>, id: &str, home_page_url: &str) -> String {
    match base_url {
        Some(base) => file_url(base, id, ATOM_FILE),
        None => uuid_urn(&["octofeed feed", id, home_page_url]),
    }
}

fn feed(doc: &FeedDoc) -> Feed {
    let meta = &doc.meta;
    let source_updated = origins_updated(doc);
    let entries: Vec<Entry> = doc.entries.iter().map(|entry| self::entry(entry, meta, &source_updated)).collect();
    let mut namespaces = BTreeMap::new();
    if entries.iter().any(|entry| entry.extensions.contains_key("media")) {
        namespaces.insert("media".to_owned(), MEDIA_NS.to_owned());
    }
    Feed {
        title: Text::plain(xml_safe(&meta.title)),
        id: feed_id(meta.base_url.as_deref(), &meta.id, &meta.home_page_url),
        updated: fixed(meta.updated),
        authors: vec![person(site_author(meta))],
        generator: Some(Generator { value: GENERATOR.to_owned(), ..Generator::default() }),
        links: feed_links(meta),
        subtitle: Some(meta.description.trim()).filter(|text| !text.is_empty()).map(|text| Text::plain(xml_safe(text))),
        entries,
        namespaces,
        lang: meta.language.as_deref().map(|l| xml_safe(l).into_owned()),
        ..Feed::default()
    }
}

/// The site title, or the feed title when the site has none: Atom needs an author name.
fn site_author(meta: &FeedMeta) -> &str {
    if meta.site_title.trim().is_empty() { &meta.title } else { &meta.site_title }
}

fn feed_links(meta: &FeedMeta) -> Vec<Link> {
    let mut links = vec![link("alternate", &meta.home_page_url, Some("text/html"))];
    if let Some(self_url) = meta.file_url(ATOM_FILE) {
        links.push(link("self", &self_url, Some("application/atom+xml")));
    }
    if let Some(hub) = &meta.hub {
        links.push(link("hub", hub, None));
    }
    links
}

fn entry(entry: &FeedEntry, meta: &FeedMeta, source_updated: &BTreeMap<&str, DateTime<Utc>>) -> Entry {
    let item = &entry.item;
    let mut links = Vec::new();
    if !item.link.is_empty() {
        links.push(link("alternate", &item.link, None));
    }
    links.extend(item.enclosures.iter().map(enclosure));
    let mut extensions = ExtensionMap::new();
    if let Some(image) = item.image.as_deref().filter(|url| is_web_url_text(url)) {
        extensions.insert("media".to_owned(), media_image(image));
    }
    Entry {
        title: Text::plain(xml_safe(&item.title)),
        id: xml_safe(&item.guid).into_owned(),
        updated: fixed_in(entry.updated, entry.timezone),
        published: Some(fixed_in(entry.published, entry.timezone)),
        authors: item.authors.iter().map(|name| person(name)).collect(),
        categories: item.categories.iter().map(|term| category(term)).collect(),
        links,
        summary: summary(item),
        content: item.content.as_deref().map(content).or_else(|| text_content_without_link(item)),
        source: entry.origin.as_ref().map(|origin| source(origin, meta, source_updated)),
        extensions,
        ..Entry::default()
    }
}

/// The plain summary, as `type="html"` holding escaped text (as RSS does), so text
/// that merely looks like markup (`&amp;`, `<b>`) stays text for every reader.
/// An item with no text at all gets its title, as an entry should carry some text.
fn summary(item: &crate::model::Item) -> Option<Text> {
    let summary = item.summary.as_deref().filter(|text| !text.trim().is_empty());
    let text = match (summary, &item.content) {
        (Some(text), _) => text,
        (None, Some(_)) => return None,
        (None, None) => &item.title,
    };
    Some(Text::html(escape_html(text)))
}

/// RFC 4287 4.1.1: an entry with neither content nor an alternate link is not
/// valid. An item without a link (feeds of RSS 0.92, notes) whose text is only
/// a summary carries it as its content too.
fn text_content_without_link(item: &crate::model::Item) -> Option<Content> {
    if !item.link.is_empty() {
        return None;
    }
    let text = item.summary.as_deref().filter(|text| !text.trim().is_empty()).unwrap_or(&item.title);
    Some(Content {
        value: Some(xml_safe(text).into_owned()),
        content_type: Some("text".to_owned()),
        ..Content::default()
    })
}

fn content(html: &str) -> Content {
    Content { value: Some(xml_safe(html).into_owned()), content_type: Some("html".to_owned()), ..Content::default() }
}

/// `<link rel="enclosure">` with its type, length when known, and title.
fn enclosure(enclosure: &crate::model::Enclosure) -> Link {
    Link {
        length: enclosure.length.map(|length| length.to_string()),
        title: enclosure.title.as_deref().map(|t| xml_safe(t).into_owned()),
        ..link("enclosure", &enclosure.url, Some(media_type(&enclosure.mime_type)))
    }
}

/// A channel entry's `<source>`: the origin feed's id, title, links and updated time.
fn source(origin: &Origin, meta: &FeedMeta, updated: &BTreeMap<&str, DateTime<Utc>>) -> Source {
    let base_url = meta.base_url.as_deref();
    let mut links = vec![link("alternate", &origin.home_page_url, Some("text/html"))];
    if let Some(base) = base_url {
        let self_url = file_url(base, &origin.source_id, ATOM_FILE);
        links.push(link("self", &self_url, Some("application/atom+xml")));
    }
    Source {
        title: Text::plain(xml_safe(&origin.title)),
        id: feed_id(base_url, &origin.source_id, &origin.home_page_url),
        updated: fixed(updated.get(origin.source_id.as_str()).copied().unwrap_or(meta.updated)),
        links,
        ..Source::default()
    }
}

/// For each origin, its newest entry change in this document: the best known
/// lower bound of the origin feed's own `updated`.
fn origins_updated(doc: &FeedDoc) -> BTreeMap<&str, DateTime<Utc>> {
    let mut newest: BTreeMap<&str, DateTime<Utc>> = BTreeMap::new();
    for entry in &doc.entries {
        if let Some(origin) = &entry.origin {
            let time = newest.entry(origin.source_id.as_str()).or_insert(entry.updated);
            *time = (*time).max(entry.updated);
        }
    }
    newest
}

fn link(rel: &str, href: &str, mime_type: Option<&str>) -> Link {
    Link {
        href: xml_safe(href).into_owned(),
        rel: rel.to_owned(),
        mime_type: mime_type.map(str::to_owned),
        ..Link::default()
    }
}

fn person(name: &str) -> Person {
    Person { name: xml_safe(name).into_owned(), ..Person::default() }
}

fn category(term: &str) -> Category {
    Category { term: xml_safe(term).into_owned(), ..Category::default() }
}

/// `<media:content url="…" medium="image"/>`. The crate writes extension attributes
/// verbatim, so the URL is escaped here.
fn media_image(url: &str) -> BTreeMap<String, Vec<Extension>> {
    let content = Extension {
        name: "media:content".to_owned(),
        attrs: BTreeMap::from([
            ("medium".to_owned(), "image".to_owned()),
            ("url".to_owned(), escape_attribute(&xml_safe(url))),
        ]),
        // The empty text keeps the indenting writer from breaking the line inside it.
        value: Some(String::new()),
        ..Extension::default()
    };
    BTreeMap::from([("content".to_owned(), vec![content])])
}

fn escape_attribute(value: &str) -> String {
    value.replace('&', "&amp;").replace('<', "&lt;").replace('"', "&quot;")
}

/// `<base>/<id>/<file>`, the way [`FeedMeta::file_url`] builds it.
fn file_url(base_url: &str, id: &str, file: &str) -> String {
    format!("{}/{id}/{file}", base_url.trim_end_matches('/'))
}

fn fixed(time: DateTime<Utc>) -> FixedDateTime {
    whole_seconds(time).fixed_offset()
}

/// `time` with `zone`'s offset at that time.
fn fixed_in(time: DateTime<Utc>, zone: chrono_tz::Tz) -> FixedDateTime {
    whole_seconds(time).with_timezone(&zone).fixed_offset()
}

#[cfg(test)]
mod tests {
    use feed_rs::model::FeedType;

    use super::*;
    use crate::publish::tests::{BASE_URL, at, channel_doc, sample_doc};

    fn parse(xml: &str) -> feed_rs::model::Feed {
        feed_rs::parser::parse(xml.as_bytes()).expect("feed-rs reads our Atom")
    }

    #[test]
    fn feed_rs_reads_back_titles_links_dates_and_ids() {
        let doc = sample_doc(Some(BASE_URL));
        let feed = parse(&render(&doc));
        assert_eq!(feed.feed_type, FeedType::Atom);
        assert_eq!(feed.id, "https://feeds.example.org/octopus/atom.xml");
        assert_eq!(feed.title.unwrap().content, "Octopus Project: activities");
        assert_eq!(feed.updated, Some(doc.meta.updated));
        assert_eq!(feed.language.as_deref(), Some("en"));
        assert_eq!(feed.authors[0].name.as_deref(), Some("Council of Europe — cybercrime news"));
        let rels: Vec<_> = feed.links.iter().map(|l| (l.rel.as_deref(), l.href.as_str())).collect();
        assert_eq!(
            rels,
            [
                (Some("alternate"), "https://www.coe.int/en/web/cybercrime/octopus-project"),
                (Some("self"), "https://feeds.example.org/octopus/atom.xml"),
            ]
        );
        assert_eq!(feed.entries.len(), 3);
        for (entry, expected) in feed.entries.iter().zip(&doc.entries) {
            assert_eq!(entry.id, expected.item.guid);
            assert_eq!(entry.title.as_ref().unwrap().content, expected.item.title.replace('\u{1}', ""));
            assert_eq!(entry.links[0].href, expected.item.link);
            assert_eq!(entry.published, Some(expected.published));
            assert_eq!(entry.updated, Some(expected.updated));
        }
    }

    #[test]
    fn text_survives_escaping_and_controls_vanish() {
        let xml = render(&sample_doc(None));
        assert!(!xml.contains('\u{1}'));
        assert!(xml.contains("<title>Budget &lt; 5 M€ for 2024 &amp; beyond</title>"), "{xml}");
        let feed = parse(&xml);
        let first = &feed.entries[0];
        assert_eq!(first.summary.as_ref().unwrap().content, "Costs: 10 € per day; Tom &amp;amp; Jerry’s notes");
        let content = first.content.as_ref().unwrap();
        assert_eq!(content.content_type.to_string(), "text/html");
        assert_eq!(content.body.as_deref(), sample_doc(None).entries[0].item.content.as_deref());
    }

    #[test]
    fn an_item_without_text_gets_its_title_as_summary() {
        let feed = parse(&render(&sample_doc(None)));
        let undated = &feed.entries[1];
        assert!(undated.content.is_none());
        assert_eq!(undated.summary.as_ref().unwrap().content, "Budget &lt; 5 M€ for 2024 &amp; beyond");
        assert!(feed.entries[2].summary.is_none(), "content alone is enough");
    }

    #[test]
    fn enclosures_are_links_with_type_length_and_title() {
        let feed = parse(&render(&sample_doc(None)));
        let links: Vec<_> = feed.entries[2]
            .links
            .iter()
            .filter(|l| l.rel.as_deref() == Some("enclosure"))
            .map(|l| (l.href.as_str(), l.media_type.as_deref(), l.length, l.title.as_deref()))
            .collect();
        assert_eq!(
            links,
            [
                ("https://rm.coe.int/guide-en/1680a4a8a5", Some("application/pdf"), Some(1_234_567), Some("EN")),
                ("https://rm.coe.int/guide-fr/1680a4a8a6", Some("application/pdf"), None, Some("FR")),
            ]
        );
    }

    #[test]
    fn an_entry_without_a_link_or_content_carries_its_summary_as_content() {
        let mut doc = sample_doc(None);
        doc.entries[0].item.link.clear();
        doc.entries[0].item.content = None;
        let feed = parse(&render(&doc));
        let content = feed.entries[0].content.as_ref().and_then(|content| content.body.as_deref());
        assert_eq!(content, doc.entries[0].item.summary.as_deref().map(|text| text.replace('\u{1}', "")).as_deref());
        assert!(feed.entries[1].content.is_none(), "an entry with a link needs no content");
    }

    #[test]
    fn authors_and_categories_are_kept() {
        let feed = parse(&render(&sample_doc(None)));
        let names: Vec<_> = feed.entries[0].authors.iter().map(|p| p.name.as_deref()).collect();
        assert_eq!(names, [Some("Jane Doe"), Some("Cybercrime Programme Office")]);
        let terms: Vec<_> = feed.entries[0].categories.iter().map(|c| c.term.as_str()).collect();
        assert_eq!(terms, ["cybercrime", "e-evidence"]);
    }

    #[test]
    fn without_base_url_the_id_is_a_stable_urn_and_there_is_no_self_link() {
        let doc = sample_doc(None);
        let feed = parse(&render(&doc));
        assert!(feed.id.starts_with("urn:uuid:"), "{}", feed.id);
        assert_eq!(feed.id.len(), "urn:uuid:".len() + 36);
        assert_eq!(feed.id, feed_id(None, "octopus", &doc.meta.home_page_url));
        assert_ne!(feed.id, feed_id(None, "news", &doc.meta.home_page_url));
        assert!(feed.links.iter().all(|l| l.rel.as_deref() != Some("self")));
    }

    #[test]
    fn id_with_base_url_is_the_self_url() {
        let meta = sample_doc(Some(BASE_URL)).meta;
        assert_eq!(Some(feed_id(Some(BASE_URL), &meta.id, "")), meta.file_url(ATOM_FILE));
    }

    #[test]
    fn image_url_with_ampersand_survives() {
        let feed = parse(&render(&sample_doc(None)));
        let urls: Vec<_> = feed.entries[0]
            .media
            .iter()
            .flat_map(|m| &m.content)
            .filter_map(|c| c.url.as_ref().map(|u| u.as_str()))
            .collect();
        assert_eq!(urls, ["https://www.coe.int/image?w=1&h=2"]);
    }

    #[test]
    fn channel_entries_carry_their_source() {
        let mut doc = channel_doc(Some(BASE_URL));
        doc.entries[2].updated = at(2024, 1, 5, 0);
        let feed = Feed::read_from(render(&doc).as_bytes()).unwrap();
        let source = feed.entries[0].source.as_ref().expect("a channel entry has a source");
        assert_eq!(source.title.value, "Source “octopus”");
        assert_eq!(source.id, "https://feeds.example.org/octopus/atom.xml");
        // The newest change among the origin's entries.
        assert_eq!(source.updated, fixed(at(2024, 1, 5, 0)));
        let links: Vec<_> = source.links.iter().map(|l| (l.rel.as_str(), l.href.as_str())).collect();
        assert_eq!(
            links,
            [
                ("alternate", "https://www.coe.int/en/web/cybercrime/octopus"),
                ("self", "https://feeds.example.org/octopus/atom.xml"),
            ]
        );
        assert_eq!(feed.entries[1].source.as_ref().unwrap().id, "https://feeds.example.org/news/atom.xml");
        assert!(!render(&sample_doc(None)).contains("<source>"));
    }

    #[test]
    fn same_doc_same_bytes() {
        let doc = channel_doc(None);
        assert_eq!(render(&doc), render(&doc));
    }

    #[test]
    fn empty_feed_still_has_id_title_updated_and_author() {
        let mut doc = sample_doc(None);
        doc.entries.clear();
        let feed = Feed::read_from(render(&doc).as_bytes()).unwrap();
        assert!(feed.entries.is_empty());
        assert_eq!(feed.updated.to_rfc3339(), "2023-12-14T10:00:00+00:00");
        assert_eq!(feed.authors.len(), 1);
    }
}
