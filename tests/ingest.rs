//! Feed ingestion (`kind = "feed"`): the corpus of fixtures/feeds/ and the
//! fields each format gives.

mod feeds_kit;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use octofeed::config::DEFAULT_MAX_ITEMS_PER_PAGE;
use octofeed::ingest::{FeedAddress, Ingested, ingest};
use octofeed::model::Item;
use serde::Deserialize;
use url::Url;

#[derive(Debug, Deserialize)]
struct Case {
    file: String,
    url: String,
    readable: bool,
    items: usize,
    note: String,
}

fn feeds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/feeds")
}

fn manifest() -> Vec<Case> {
    let text = std::fs::read_to_string(feeds_dir().join("manifest.json")).expect("manifest.json");
    serde_json::from_str(&text).expect("manifest.json is valid")
}

/// Ingests a corpus file as if fetched from `https://wild.example.net/<name>/feed`.
fn read(file: &str) -> Ingested {
    let case = manifest().into_iter().find(|case| case.file == file).expect("file in manifest");
    let bytes = std::fs::read(feeds_dir().join(file)).expect("fixture");
    ingest(&bytes, FeedAddress::at(&Url::parse(&case.url).unwrap()), "wild", DEFAULT_MAX_ITEMS_PER_PAGE)
        .unwrap_or_else(|error| panic!("{file}: {error}"))
}

fn only(file: &str) -> Item {
    let mut items = read(file).items;
    assert_eq!(items.len(), 1, "{file}");
    items.remove(0)
}

fn titles(file: &str) -> Vec<String> {
    read(file).items.into_iter().map(|item| item.title).collect()
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

/// Checks one corpus file against its manifest line; returns what is wrong.
fn check(case: &Case) -> Option<String> {
    let bytes = std::fs::read(feeds_dir().join(&case.file)).expect("fixture");
    let url = Url::parse(&case.url).unwrap();
    match (ingest(&bytes, FeedAddress::at(&url), "wild", DEFAULT_MAX_ITEMS_PER_PAGE), case.readable) {
        (Ok(out), true) => {
            if out.items.len() != case.items {
                return Some(format!("{} items, expected {}", out.items.len(), case.items));
            }
            out.items.iter().find_map(|item| bad_item(item).map(|why| format!("\"{}\": {why}", item.title)))
        }
        (Ok(out), false) => Some(format!("read ({} items) but expected to fail", out.items.len())),
        (Err(error), true) => Some(format!("failed: {error}")),
        (Err(error), false) => {
            let message = error.to_string();
            let names_url = message.starts_with(&case.url) && error.url == url;
            let names_problem = !error.reason.trim().is_empty();
            (!(names_url && names_problem)).then(|| format!("unclear error: {message}"))
        }
    }
}

fn bad_item(item: &Item) -> Option<&'static str> {
    let absolute = |link: &str| Url::parse(link).is_ok_and(|url| matches!(url.scheme(), "http" | "https"));
    if item.title.trim().is_empty() || item.title != item.title.trim() {
        Some("title empty or untrimmed")
    } else if !item.link.is_empty() && !absolute(&item.link) {
        Some("link not absolute (nor absent)")
    } else if item.guid.is_empty() {
        Some("no guid")
    } else if item.enclosures.iter().any(|enclosure| !absolute(&enclosure.url))
        || item.image.as_deref().is_some_and(|image| !absolute(image))
    {
        Some("enclosure or image not absolute")
    } else if item.content.as_deref().is_some_and(|html| html.contains("<script") || html.contains("javascript:")) {
        Some("content not sanitized")
    } else {
        None
    }
}

#[test]
fn every_corpus_feed_is_read_or_refused_as_the_manifest_says() {
    let cases = manifest();
    assert!(cases.len() >= 100, "the corpus holds {} feeds", cases.len());
    let on_disk = walk(&feeds_dir());
    assert_eq!(on_disk.len(), cases.len(), "every fixture is in manifest.json and every manifest line has a file");
    let problems: Vec<String> = cases
        .iter()
        .filter_map(|case| check(case).map(|problem| format!("{} ({}): {problem}", case.file, case.note)))
        .collect();
    assert!(problems.is_empty(), "{} of {} feeds:\n{}", problems.len(), cases.len(), problems.join("\n"));
    let refused = cases.iter().filter(|case| !case.readable).count();
    assert!(refused >= 15, "the corpus has {refused} unreadable feeds");
}

/// Corpus files: everything under the folder but the generator and the manifest.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else if !matches!(
            path.file_name().and_then(|n| n.to_str()),
            Some("generate.py" | "manifest.json" | "README.md")
        ) {
            files.push(path);
        }
    }
    files
}

#[test]
fn rfc822_dates_with_named_zones_are_read_in_their_zone() {
    let published = |file: &str| read(file).items[0].published;
    assert_eq!(published("rss2/zone-est.xml"), Some(utc("2022-11-24T14:30:00Z")));
    assert_eq!(published("rss2/zone-pdt.xml"), Some(utc("2022-11-24T16:30:00Z")));
    assert_eq!(published("rss2/zone-gmt.xml"), Some(utc("2022-11-24T09:30:00Z")));
    assert_eq!(published("rss2/zone-plus0100.xml"), Some(utc("2022-11-24T08:30:00Z")));
    assert_eq!(published("rss2/zone-minus0500.xml"), Some(utc("2022-11-24T14:30:00Z")));
    let mixed: Vec<_> = read("rss2/zones-mixed.xml").items.into_iter().map(|item| item.published).collect();
    let expected = ["2022-11-03T14:30:00Z", "2022-11-07T16:30:00Z", "2022-11-10T09:30:00Z", "2022-11-14T08:30:00Z"];
    assert_eq!(mixed, expected.map(|text| Some(utc(text))));
}

#[test]
fn items_without_dates_have_none_and_keep_their_order() {
    let items = read("rss2/missing-dates.xml").items;
    assert!(items.iter().all(|item| item.published.is_none() && item.date_text.is_none()));
    assert_eq!(items[0].title, "Octopus Conference opens in Bucharest");
}

#[test]
fn content_links_resolve_against_xml_base_or_the_feed_url() {
    let feed = only("atom10/xml-base-feed.xml");
    assert_eq!(feed.link, "https://base.example.com/blog/posts/octopus");
    let content = feed.content.unwrap();
    assert!(content.contains(r#"href="https://base.example.com/blog/docs/report.pdf""#), "{content}");
    assert!(content.contains(r#"src="https://base.example.com/img/x.png""#), "{content}");
    let entry = only("atom10/xml-base-entry.xml");
    assert_eq!(entry.link, "https://entry.example.net/a/b/two");
    assert!(entry.content.unwrap().contains(r#"href="https://entry.example.net/a/b/docs/report.pdf""#));
    let relative = only("atom10/xml-base-relative.xml");
    assert_eq!(relative.link, "https://base.example.com/root/sub/three");
    assert!(relative.content.unwrap().contains(r#"href="https://base.example.com/root/sub/docs/report.pdf""#));
    let items = read("rss2/relative-links.xml").items;
    let links: Vec<&str> = items.iter().map(|item| item.link.as_str()).collect();
    assert_eq!(
        links,
        [
            "https://wild.example.net/relative-one",
            "https://wild.example.net/rss2-relative-links/articles/two",
            "https://cdn.example.org/three"
        ]
    );
    let content = items[0].content.as_deref().unwrap();
    assert!(content.contains(r#"href="https://wild.example.net/docs/guide.pdf""#), "{content}");
    assert!(content.contains(r#"src="https://wild.example.net/rss2-relative-links/img/a.png""#), "{content}");
}

#[test]
fn titles_are_plain_text_whatever_markup_or_entities_they_hold() {
    assert_eq!(
        titles("rss2/html-in-titles.xml"),
        [
            "Octopus Conference opens & welcomes delegates",
            "Protocol: ten ratifications",
            "Workshop in Accra",
            "Tom & Jerry and the statistics guide"
        ]
    );
    assert_eq!(titles("rss2/entities.xml"), ["Rock & roll — the judges’ view", "Café “quoted”"]);
    assert_eq!(titles("atom10/title-html.xml"), ["Octopus & friends"]);
    assert_eq!(titles("json/v11-html-title.json"), ["Launch of the policy portal"]);
    assert_eq!(titles("rss2/whitespace.xml"), ["Spaced out title"]);
    assert_eq!(titles("rss2/control-chars.xml"), ["Control characters"]);
}

#[test]
fn utf16_without_a_byte_order_mark_is_read_from_its_first_bytes() {
    let xml = r#"<?xml version="1.0" encoding="UTF-16"?><rss version="2.0"><channel><title>T</title>
        <item><title>Sans BOM Ωmega</title><link>https://news.example.org/1</link></item></channel></rss>"#;
    let units: Vec<u16> = xml.encode_utf16().collect();
    let big_endian: Vec<u8> = units.iter().flat_map(|unit| unit.to_be_bytes()).collect();
    let little_endian: Vec<u8> = units.iter().flat_map(|unit| unit.to_le_bytes()).collect();
    let url = Url::parse("https://news.example.org/feed.xml").unwrap();
    for bytes in [big_endian, little_endian] {
        let ingested =
            ingest(&bytes, FeedAddress::at(&url), "wild", DEFAULT_MAX_ITEMS_PER_PAGE).expect("a readable feed");
        let titles: Vec<&str> = ingested.items.iter().map(|item| item.title.as_str()).collect();
        assert_eq!(titles, ["Sans BOM Ωmega"]);
    }
}

#[test]
fn declared_and_actual_encodings_are_told_apart() {
    assert_eq!(titles("encoding/latin1-declared.xml")[0], "Déclaration de Budapest à l'étude");
    assert_eq!(titles("encoding/cp1252-as-latin1.xml"), ["“Smart quotes” cost 5 € – really", "Zürich meeting"]);
    assert_eq!(titles("encoding/cp1252-declared.xml"), ["“Quoted” title — dash"]);
    assert_eq!(titles("encoding/utf8-bom.xml"), ["Ünïcödé with a BOM"]);
    assert_eq!(titles("encoding/utf16le.xml"), ["UTF-16 Ωmega title"]);
    assert_eq!(titles("encoding/utf16be.xml"), ["UTF-16 Ωmega title"]);
    assert_eq!(titles("encoding/latin1-declared-utf8.xml"), ["D\u{FFFD}claration mal encod\u{FFFD}e"]);
    assert_eq!(titles("encoding/json-utf8-bom.json"), ["Octopus Conference opens in Bucharest"]);
}

#[test]
fn guids_come_from_the_feed_then_the_link_then_a_hash() {
    let guids = |file: &str| read(file).items.into_iter().map(|item| item.guid).collect::<Vec<_>>();
    assert_eq!(guids("rss2/non-url-guids.xml")[0], "https://wild.example.net/rss2-non-url-guids/feed#1000");
    assert_eq!(guids("rss2/urn-guids.xml")[1], "urn:uuid:00000001-1111-4222-8333-444455556666");
    assert_eq!(guids("atom10/basic.xml")[0], "tag:news.example.org,2022:octopus-conference-opens");
    assert_eq!(guids("atom10/http-ids-tracking.xml")[0], "https://news.example.org/octopus-conference-opens");
    assert_eq!(guids("rss2/no-guid.xml")[2], "https://news.example.org/ransomware-workshop-accra");
    let hashed = read("rss2/no-guid-no-link.xml").items;
    assert!(hashed.iter().all(|item| item.guid.starts_with("urn:uuid:")), "{hashed:?}");
    assert_eq!(
        hashed[0].link, "https://news.example.org/",
        "an item without a link gets the feed's site, not its address"
    );
    assert!(hashed.iter().all(|item| item.guid != item.link), "the site's address is no item's guid");
    assert_eq!(guids("json/v11-no-url.json"), ["https://wild.example.net/json-v11-no-url/feed#item-11"]);
}

#[test]
fn duplicate_guids_keep_the_first_entry_with_a_warning() {
    let out = read("rss2/duplicate-guids.xml");
    let titles: Vec<&str> = out.items.iter().map(|item| item.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Octopus Conference opens in Bucharest",
            "Second Additional Protocol reaches ten ratifications",
            "Workshop on ransomware investigations in Accra"
        ]
    );
    assert_eq!(out.warnings.len(), 2, "{:?}", out.warnings);
    let untitled = read("rss2/untitled-items.xml");
    assert_eq!(untitled.warnings.iter().filter(|warning| warning.contains("no title and no text")).count(), 1);
}

#[test]
fn untitled_entries_are_titled_from_the_start_of_their_text() {
    let titles = |file: &str| read(file).items.into_iter().map(|item| item.title).collect::<Vec<_>>();
    assert_eq!(titles("rss2/untitled-items.xml")[1], "An item with no title at all.");
    let microblog = titles("json/v11-untitled.json");
    assert_eq!(microblog.len(), 2);
    assert!(microblog.iter().all(|title| !title.is_empty() && title.chars().count() <= 81), "{microblog:?}");
}

#[test]
fn extensions_give_authors_images_categories_content_and_enclosures() {
    let items = read("rss2/namespaces.xml").items;
    assert_eq!(items[0].authors, ["Ana Popescu"]);
    assert_eq!(items[0].image.as_deref(), Some("https://news.example.org/img/octopus.jpg"));
    assert!(items[0].content.as_deref().unwrap().contains("<b>electronic evidence</b>"));
    assert_eq!(items[1].published, Some(utc("2022-11-07T07:15:00Z")), "dc:date");
    assert_eq!(items[2].image.as_deref(), Some("https://news.example.org/img/accra.jpg"));
    let video = &items[2].enclosures[0];
    assert_eq!(
        (video.url.as_str(), video.mime_type.as_str()),
        ("https://news.example.org/video/accra.mp4", "video/mp4")
    );
    let audio = &items[3].enclosures[0];
    assert_eq!((audio.mime_type.as_str(), audio.length), ("audio/mpeg", Some(2_048_000)));
    let relative = &read("rss2/enclosures.xml").items[1].enclosures[0];
    assert_eq!(relative.url, "https://wild.example.net/files/terms.docx");
    assert_eq!(relative.mime_type, "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
    let atom = only("atom10/authors-categories.xml");
    assert_eq!(atom.authors, ["Ana Popescu", "Malik Osei"]);
    assert_eq!(atom.categories, ["Conferences", "e-evidence"]);
    let links = only("atom10/enclosures.xml").enclosures;
    assert_eq!(links.len(), 2);
    assert_eq!(links[0].title.as_deref(), Some("Report"));
    assert_eq!(links[1].url, "https://wild.example.net/atom10-enclosures/files/annex.xlsx");
    let media = only("atom10/media-group.xml");
    assert_eq!(media.image.as_deref(), Some("https://video.example.org/clip.jpg"));
    assert_eq!(media.enclosures[0].url, "https://video.example.org/clip.mp4");
}

#[test]
fn atom_content_of_an_xml_media_type_is_read_inline() {
    let item = only("atom10/xhtml-mime-content.xml");
    let content = item.content.expect("the inline XHTML is the content");
    assert!(content.contains("<em>XHTML</em>") && !content.contains("xmlns"), "{content}");
}

#[test]
fn base64_atom_content_is_dropped_never_shown_as_text() {
    let item = only("atom10/base64-content.xml");
    assert_eq!(item.content, None, "a PDF in base64 is not text");
    assert_eq!(item.summary.as_deref(), Some("A single site now gathers legislation profiles and training material."));
    let kept = only("atom10/text-content.xml");
    assert!(kept.content.is_some(), "type=text content stays");
    let untitled = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>tag:t</id>
        <updated>2022-11-30T12:00:00Z</updated><entry><id>tag:t,1</id><updated>2022-11-30T12:00:00Z</updated>
        <content type="application/pdf">JVBERi0xLjQgbWludXRlcw==</content></entry></feed>"#;
    let url = Url::parse("https://wild.example.net/untitled-pdf/feed").unwrap();
    let read = ingest(untitled.as_bytes(), FeedAddress::at(&url), "wild", DEFAULT_MAX_ITEMS_PER_PAGE).unwrap();
    assert!(read.items.is_empty(), "base64 is no title either: {:?}", read.items);
}

#[test]
fn json_feed_attachments_image_tags_and_authors() {
    for (file, feed) in
        [("json/v10-attachments.json", "json-v10-attachments"), ("json/v11-attachments.json", "json-v11-attachments")]
    {
        let item = only(file);
        assert_eq!(item.authors, ["Newsroom"], "{file}");
        assert_eq!(item.categories, ["e-evidence", "Octopus"], "{file}");
        assert_eq!(item.image.as_deref(), Some("https://news.example.org/img/cover.png"), "{file}");
        let urls: Vec<&str> = item.enclosures.iter().map(|enclosure| enclosure.url.as_str()).collect();
        let version = &feed[6..8];
        assert_eq!(
            urls,
            [
                format!("https://news.example.org/files/report-{version}.pdf"),
                format!("https://wild.example.net/audio/episode-{version}.mp3")
            ],
            "{file}"
        );
        assert_eq!(item.enclosures[0].length, Some(123_456));
        assert_eq!(item.published, Some(utc("2022-11-03T08:00:00Z")));
    }
    assert_eq!(only("json/v11-modified-only.json").published, Some(utc("2022-11-29T10:00:00Z")));
}

#[test]
fn old_formats_are_read_into_the_same_model() {
    let atom03 = read("atom03/basic.xml").items;
    assert_eq!(atom03[0].published, Some(utc("2022-11-03T09:00:00Z")));
    assert_eq!(atom03[0].link, "https://news.example.org/octopus-conference-opens");
    assert!(atom03[0].content.as_deref().unwrap().contains("<b>electronic evidence</b>"));
    assert!(only("atom03/xml-mode.xml").content.unwrap().contains("Inline."));
    assert_eq!(titles("rss1/rss090.rdf")[1], "Second Additional Protocol reaches ten ratifications");
    let dublin = read("rss1/dublin-core.rdf").items;
    assert_eq!(dublin[0].authors, ["Desk 0"], "dc:creator (feed-rs does not read dc:subject)");
    assert_eq!(dublin[0].published, Some(utc("2022-11-03T09:00:00Z")));
    assert_eq!(titles("rss09x/rss091-doctype.xml").len(), 2);
    assert_eq!(read("rss09x/rss092-enclosure.xml").items[0].enclosures[0].mime_type, "audio/mpeg");
}

#[test]
fn content_is_sanitized() {
    let content = only("rss2/scripts-in-content.xml").content.unwrap();
    assert!(content.starts_with("<p>Hi"), "{content}");
    for banned in ["script", "onclick", "javascript:", "<!--"] {
        assert!(!content.contains(banned), "{banned} in {content}");
    }
}

#[test]
fn an_unreadable_feed_is_an_error_naming_its_url_and_the_problem() {
    let url = Url::parse("https://wild.example.net/broken/feed").unwrap();
    let bytes = std::fs::read(feeds_dir().join("broken/truncated-mid-item.xml")).unwrap();
    let error = ingest(&bytes, FeedAddress::at(&url), "wild", DEFAULT_MAX_ITEMS_PER_PAGE).unwrap_err();
    assert_eq!(error.url, url);
    let message = error.to_string();
    assert!(
        message.starts_with("https://wild.example.net/broken/feed is not a readable RSS, Atom or JSON feed: "),
        "{message}"
    );
    let html = ingest(b"<html><body>404</body></html>", FeedAddress::at(&url), "wild", DEFAULT_MAX_ITEMS_PER_PAGE)
        .unwrap_err();
    assert!(html.reason.contains("no feed") || html.reason.contains("root"), "{}", html.reason);
}

#[test]
fn the_same_document_always_gives_the_same_items() {
    let first = read("rss2/no-guid-no-link.xml");
    assert_eq!(first, read("rss2/no-guid-no-link.xml"));
}

#[tokio::test(flavor = "multi_thread")]
async fn feed_sources_send_etag_and_last_modified_back_and_a_304_is_unchanged() {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const MODIFIED: &str = "Tue, 29 Nov 2022 10:00:00 GMT";
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/feed.xml"))
        .and(header("if-none-match", "\"v1\""))
        .and(header("if-modified-since", MODIFIED))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .mount(&server)
        .await;
    let body = std::fs::read(feeds_dir().join("rss2/basic.xml")).unwrap();
    Mock::given(method("GET"))
        .and(path("/feed.xml"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(body, "application/rss+xml")
                .insert_header("etag", "\"v1\"")
                .insert_header("last-modified", MODIFIED),
        )
        .mount(&server)
        .await;
    let workspace = feeds_kit::Workspace::new();
    let uri = server.uri();
    workspace.config(&format!("[[source]]\nid = \"news\"\nurl = \"{uri}/feed.xml\"\nkind = \"feed\"\n"));
    let statuses = |now: &str| {
        let output = workspace.octofeed(&["run", "--json"], now);
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("run --json");
        (output.status.code(), report["sources"][0]["status"].clone(), report["sources"][0]["items_new"].clone())
    };
    assert_eq!(statuses("2022-12-01T10:00:00Z"), (Some(0), "ok".into(), 5.into()));
    assert_eq!(statuses("2022-12-02T10:00:00Z"), (Some(0), "unchanged".into(), 0.into()));
    let requests = server.received_requests().await.unwrap();
    let feed_requests: Vec<_> = requests.iter().filter(|request| request.url.path() == "/feed.xml").collect();
    assert_eq!(feed_requests.len(), 2);
    assert!(feed_requests[0].headers.get("if-none-match").is_none());
    assert_eq!(feed_requests[1].headers.get("if-none-match").unwrap(), "\"v1\"");
    assert_eq!(feed_requests[1].headers.get("if-modified-since").unwrap(), MODIFIED);
    let published = workspace.published("news/rss.xml");
    assert_eq!(published.matches("<item>").count(), 5, "the stored items are still published");
}
