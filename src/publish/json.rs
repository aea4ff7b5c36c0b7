//! Publish stage, JSON Feed 1.1: renders a [`FeedDoc`] with `serde_json`.
//!
//! Pure: no I/O, no clock; entries come out in the order given, keys in the
//! order of the structs below, empty fields left out. Texts lose the characters
//! XML forbids too, so the three formats say the same.

use std::borrow::Cow;

use serde::Serialize;

use super::{JSON_FILE, media_type, plain_summary, rfc3339_in, xml_safe};
use crate::model::{FeedDoc, FeedEntry, Origin};

const VERSION: &str = "https://jsonfeed.org/version/1.1";

#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: Cow<'a, str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    home_page_url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    feed_url: Option<String>,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authors: Vec<Author<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hubs: Vec<Hub<'a>>,
    items: Vec<JsonItem<'a>>,
}

/// A JSON Feed hub: `{"type": "WebSub", "url": "…"}`.
#[derive(Serialize)]
struct Hub<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    url: &'a str,
}

#[derive(Serialize)]
struct Author<'a> {
    name: Cow<'a, str>,
}

#[derive(Serialize)]
struct JsonItem<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    url: &'a str,
    title: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_html: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
    date_published: String,
    date_modified: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authors: Vec<Author<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<Attachment<'a>>,
    #[serde(rename = "_octofeed", skip_serializing_if = "Option::is_none")]
    octofeed: Option<Extension<'a>>,
}

#[derive(Serialize)]
struct Attachment<'a> {
    url: &'a str,
    mime_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size_in_bytes: Option<u64>,
}

/// octofeed's own item fields, under `_octofeed` as JSON Feed extensions must be.
#[derive(Serialize)]
struct Extension<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<SourceRef<'a>>,
}

#[derive(Serialize)]
struct SourceRef<'a> {
    id: &'a str,
    title: Cow<'a, str>,
    feed_url: &'a str,
    home_page_url: &'a str,
}

/// Renders `doc` as a JSON Feed 1.1 document (pretty-printed, ending with a newline).
pub fn render(doc: &FeedDoc) -> String {
    let meta = &doc.meta;
    let feed = JsonFeed {
        version: VERSION,
        title: xml_safe(&meta.title),
        home_page_url: &meta.home_page_url,
        feed_url: meta.file_url(JSON_FILE),
        description: xml_safe(meta.description.trim()),
        language: meta.language.as_deref(),
        authors: non_blank(&meta.site_title).map(|name| vec![Author { name: xml_safe(name) }]).unwrap_or_default(),
        hubs: meta.hub.iter().map(|url| Hub { kind: "WebSub", url }).collect(),
        items: doc.entries.iter().map(item).collect(),
    };
    let mut json = serde_json::to_string_pretty(&feed).expect("a JSON Feed always serializes");
    json.push('\n');
    json
}

/// One entry as a JSON Feed item object, with `_octofeed.feed_id` naming the
/// feed it belongs to: what a webhook receives for a new item.
pub fn webhook_item(entry: &FeedEntry, feed_id: &str) -> String {
    let mut value = serde_json::to_value(item(entry)).expect("a JSON Feed item always serializes");
    let object = value.as_object_mut().expect("an item is an object");
    let extension = object.entry("_octofeed").or_insert_with(|| serde_json::json!({}));
    extension["feed_id"] = serde_json::Value::from(feed_id);
    serde_json::to_string(&value).expect("a JSON value always serializes")
}

fn item(entry: &FeedEntry) -> JsonItem<'_> {
    let item = &entry.item;
    let summary = item.summary.as_deref().and_then(non_blank).map(xml_safe);
    // An item needs content_html or content_text: the plain summary stands in for
    // missing content, and the title when there is no text at all.
    let content_text = match item.content {
        Some(_) => None,
        None => Some(xml_safe(&plain_summary(item).unwrap_or_else(|| item.title.clone())).into_owned()),
    };
    JsonItem {
        id: &item.guid,
        url: &item.link,
        title: xml_safe(&item.title),
        content_html: item.content.as_deref().map(xml_safe),
        content_text,
        summary,
        image: item.image.as_deref(),
        date_published: rfc3339_in(entry.published, entry.timezone),
        date_modified: rfc3339_in(entry.updated, entry.timezone),
        authors: item.authors.iter().map(|name| Author { name: xml_safe(name) }).collect(),
        tags: item.categories.iter().map(|tag| xml_safe(tag)).collect(),
        attachments: item.enclosures.iter().map(attachment).collect(),
        octofeed: extension(item.location.as_deref(), entry.origin.as_ref()),
    }
}

fn attachment(enclosure: &crate::model::Enclosure) -> Attachment<'_> {
    Attachment {
        url: &enclosure.url,
        mime_type: media_type(&enclosure.mime_type),
        title: enclosure.title.as_deref().and_then(non_blank).map(xml_safe),
        size_in_bytes: enclosure.length,
    }
}

fn extension<'a>(location: Option<&'a str>, origin: Option<&'a Origin>) -> Option<Extension<'a>> {
    let location = location.and_then(non_blank).map(xml_safe);
    let source = origin.map(|origin| SourceRef {
        id: &origin.source_id,
        title: xml_safe(&origin.title),
        feed_url: &origin.feed_url,
        home_page_url: &origin.home_page_url,
    });
    (location.is_some() || source.is_some()).then_some(Extension { location, source })
}

fn non_blank(text: &str) -> Option<&str> {
    let text = text.trim();
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use feed_rs::model::FeedType;
    use serde_json::Value;

    use super::*;
    use crate::publish::tests::{BASE_URL, channel_doc, sample_doc};

    fn value(doc: &FeedDoc) -> Value {
        serde_json::from_str(&render(doc)).expect("valid JSON")
    }

    /// The keys of the pretty-printed object lines indented by `indent` spaces, in
    /// text order (a parsed `Value` would sort them).
    fn keys(text: &str, indent: usize) -> Vec<&str> {
        text.lines()
            .filter_map(|line| line.strip_prefix(&" ".repeat(indent))?.strip_prefix('"'))
            .filter_map(|rest| rest.split_once('"').map(|(key, _)| key))
            .collect()
    }

    /// The text of each item object.
    fn item_texts(json: &str) -> Vec<&str> {
        let (_, items) = json.split_once("\"items\": [").expect("an items array");
        items.split("\n    {\n").skip(1).collect()
    }

    #[test]
    fn feed_rs_reads_back_titles_links_dates_and_ids() {
        let doc = sample_doc(Some(BASE_URL));
        let feed = feed_rs::parser::parse(render(&doc).as_bytes()).expect("feed-rs reads our JSON Feed");
        assert_eq!(feed.feed_type, FeedType::JSON);
        assert_eq!(feed.title.unwrap().content, "Octopus Project: activities");
        assert_eq!(feed.entries.len(), 3);
        for (entry, expected) in feed.entries.iter().zip(&doc.entries) {
            assert_eq!(entry.id, expected.item.guid);
            assert_eq!(entry.links[0].href, expected.item.link);
            assert_eq!(entry.published, Some(expected.published));
            assert_eq!(entry.updated, Some(expected.updated));
        }
    }

    #[test]
    fn keys_come_in_a_stable_order_and_empty_fields_are_left_out() {
        let text = render(&channel_doc(Some(BASE_URL)));
        assert_eq!(
            keys(&text, 2),
            ["version", "title", "home_page_url", "feed_url", "description", "language", "authors", "items"]
        );
        let json: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["version"], "https://jsonfeed.org/version/1.1");
        assert_eq!(json["feed_url"], "https://feeds.example.org/cybercrime/feed.json");
        let items = item_texts(&text);
        assert_eq!(
            keys(items[0], 6),
            [
                "id",
                "url",
                "title",
                "content_html",
                "summary",
                "image",
                "date_published",
                "date_modified",
                "authors",
                "tags",
                "_octofeed"
            ]
        );
        assert_eq!(
            keys(items[1], 6),
            ["id", "url", "title", "content_text", "date_published", "date_modified", "_octofeed"]
        );
        assert!(!keys(&render(&sample_doc(None)), 2).contains(&"feed_url"));
    }

    #[test]
    fn every_item_has_content_html_or_text() {
        let json = value(&sample_doc(None));
        let items = json["items"].as_array().unwrap();
        assert_eq!(items[0]["content_html"], sample_doc(None).entries[0].item.content.clone().unwrap());
        assert_eq!(items[1]["content_text"], "Budget < 5 M€ for 2024 & beyond");
        assert!(items[2].get("content_text").is_none() && items[2]["content_html"].is_string());

        let mut doc = sample_doc(None);
        doc.entries[0].item.content = None;
        assert_eq!(value(&doc)["items"][0]["content_text"], "Costs: 10 € per day; Tom &amp; Jerry’s notes");
    }

    #[test]
    fn dates_authors_tags_and_attachments() {
        let json = value(&sample_doc(None));
        let first = &json["items"][0];
        assert_eq!(first["date_published"], "2023-12-13T09:00:00Z");
        assert_eq!(first["date_modified"], "2023-12-14T10:00:00Z");
        assert_eq!(first["authors"][1]["name"], "Cybercrime Programme Office");
        assert_eq!(first["tags"], serde_json::json!(["cybercrime", "e-evidence"]));
        assert_eq!(first["image"], "https://www.coe.int/image?w=1&h=2");
        assert_eq!(
            json["items"][2]["attachments"],
            serde_json::json!([
                {"url": "https://rm.coe.int/guide-en/1680a4a8a5", "mime_type": "application/pdf",
                 "title": "EN", "size_in_bytes": 1_234_567},
                {"url": "https://rm.coe.int/guide-fr/1680a4a8a6", "mime_type": "application/pdf",
                 "title": "FR"},
            ])
        );
    }

    #[test]
    fn octofeed_extension_only_when_there_is_something_to_say() {
        let source = value(&sample_doc(None));
        assert_eq!(source["items"][0]["_octofeed"], serde_json::json!({"location": "Bucharest, Romania"}));
        assert!(source["items"][1].get("_octofeed").is_none());

        let channel = value(&channel_doc(Some(BASE_URL)));
        assert_eq!(
            channel["items"][1]["_octofeed"],
            serde_json::json!({"source": {
                "id": "news",
                "title": "Source “news”",
                "feed_url": "https://feeds.example.org/news/rss.xml",
                "home_page_url": "https://www.coe.int/en/web/cybercrime/news",
            }})
        );
    }

    #[test]
    fn control_characters_vanish_and_output_is_deterministic() {
        let doc = channel_doc(None);
        let json = render(&doc);
        assert!(!json.contains("\\u0001"), "{json}");
        assert_eq!(json, render(&doc));
        assert!(json.ends_with("}\n"));
    }
}
