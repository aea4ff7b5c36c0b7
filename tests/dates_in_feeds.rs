//! Dates as subscribers see them: a page's date without a time is published at
//! noon in the source's time zone, written with that zone's offset, so every
//! reader from UTC-11 to UTC+12 (and index.html, and `octofeed items`) shows
//! the page's day, not the day before.

mod fetch_kit;

use std::process::Command;

use chrono::{DateTime, Datelike, FixedOffset};
use fetch_kit::{Site, site_table};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn paris_site() -> (MockServer, Site) {
    let server = MockServer::start().await;
    let page = "<ul><li class=\"news\"><h3><a href=\"/plenary\">Plenary</a></h3><p class=\"date\">24 November 2022</p></li></ul>";
    Mock::given(path("/news")).respond_with(ResponseTemplate::new(200).set_body_string(page)).mount(&server).await;
    let source = format!(
        "[[source]]\nid = \"coe\"\nurl = \"{}/news\"\nrobots = false\ntimezone = \"Europe/Paris\"\n\
         [source.select]\nitem = \"li.news\"\ntitle = \"h3\"\nlink = \"h3 a\"\ndate = \".date\"\n",
        server.uri()
    );
    let site = Site::new(&format!("{}{source}", site_table("")));
    site.run().await;
    (server, site)
}

#[tokio::test]
async fn a_date_without_a_time_in_paris_is_the_pages_day_in_every_format_and_zone() {
    let (_server, site) = paris_site().await;
    let rss = site.published("coe/rss.xml");
    assert!(rss.contains("<pubDate>Thu, 24 Nov 2022 12:00:00 +0100</pubDate>"), "{rss}");
    let atom = site.published("coe/atom.xml");
    assert!(atom.contains("<published>2022-11-24T12:00:00+01:00</published>"), "{atom}");
    let json = site.json_feed("coe");
    let published = json["items"][0]["date_published"].as_str().expect("a date");
    assert_eq!(published, "2022-11-24T12:00:00+01:00");
    let instant = DateTime::parse_from_rfc3339(published).expect("RFC 3339");
    for hours in -11..=12 {
        let reader = FixedOffset::east_opt(hours * 3600).expect("an offset");
        assert_eq!(instant.with_timezone(&reader).day(), 24, "a reader at UTC{hours:+} sees another day");
    }
    let index = site.published("index.html");
    assert!(index.contains("2022-11-24") && !index.contains("2022-11-23"), "index.html shows another day");
}

#[tokio::test]
async fn octofeed_items_shows_the_sources_local_date() {
    let (_server, site) = paris_site().await;
    let output = Command::new(env!("CARGO_BIN_EXE_octofeed"))
        .args(["items", "coe", "-c"])
        .arg(site.config_path())
        .output()
        .expect("items runs");
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(table.contains("published (Europe/Paris)"), "{table}");
    assert!(table.contains("2022-11-24 12:00"), "{table}");
}

#[tokio::test]
async fn a_first_run_dates_updated_by_the_page_not_today() {
    let (_server, site) = paris_site().await;
    let atom = octofeed_atom(&site.published("coe/atom.xml"));
    let entry = &atom.entries[0];
    assert_eq!(entry.updated, entry.published, "Atom <updated> is the page's date until the item changes");
    let json = site.json_feed("coe");
    assert_eq!(json["items"][0]["date_modified"], json["items"][0]["date_published"]);
}

#[tokio::test]
async fn a_feed_sources_own_updated_time_is_kept() {
    let server = MockServer::start().await;
    let atom = r#"<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>
        <id>urn:t</id><updated>2022-12-01T09:00:00Z</updated>
        <entry><title>Revised post</title><id>https://blog.example.org/1</id><link href="https://blog.example.org/1"/>
        <published>2022-11-20T08:00:00Z</published><updated>2022-11-28T16:30:00Z</updated></entry></feed>"#;
    Mock::given(path("/atom.xml")).respond_with(ResponseTemplate::new(200).set_body_string(atom)).mount(&server).await;
    let source =
        format!("[[source]]\nid = \"blog\"\nurl = \"{}/atom.xml\"\nkind = \"feed\"\nrobots = false\n", server.uri());
    let site = Site::new(&format!("{}{source}", site_table("")));
    site.run().await;
    let json = site.json_feed("blog");
    assert_eq!(json["items"][0]["date_published"], "2022-11-20T08:00:00Z");
    assert_eq!(json["items"][0]["date_modified"], "2022-11-28T16:30:00Z");
}

fn octofeed_atom(text: &str) -> feed_rs::model::Feed {
    feed_rs::parser::parse(text.as_bytes()).expect("a readable Atom feed")
}

#[tokio::test]
async fn an_empty_feed_is_dated_when_published_never_1970() {
    let server = MockServer::start().await;
    let empty = "<?xml version=\"1.0\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Quiet</title>\
                 <id>tag:quiet.example.org,2022:feed</id><updated>2022-11-30T12:00:00Z</updated></feed>";
    Mock::given(path("/feed")).respond_with(ResponseTemplate::new(200).set_body_string(empty)).mount(&server).await;
    let source =
        format!("[[source]]\nid = \"quiet\"\nkind = \"feed\"\nurl = \"{}/feed\"\nrobots = false\n", server.uri());
    let site = Site::new(&format!("{}{source}", site_table("")));
    let now = DateTime::parse_from_rfc3339("2024-05-06T07:08:09Z").expect("a time").to_utc();
    let report = site.run_at(now).await;
    assert!(!report.any_failed(), "{report:?}");
    for file in ["quiet/rss.xml", "quiet/atom.xml", "quiet/feed.json", "quiet/new.xml"] {
        let text = site.published(file);
        assert!(!text.contains("1970"), "{file} carries a 1970 date:\n{text}");
    }
    assert!(site.published("quiet/atom.xml").contains("<updated>2024-05-06T07:08:09+00:00</updated>"));
    assert!(site.published("quiet/rss.xml").contains("<lastBuildDate>Mon, 6 May 2024 07:08:09 +0000</lastBuildDate>"));
}
