//! Full articles (`[source.detail]`): a listing in the coe.int Activities template
//! and the saved article pages, served by a local mock server, with the production
//! selectors. Each article is fetched once; later runs reuse it unless its listing
//! entry changed; a failed article keeps its listing fields, with a warning.

mod fetch_kit;

use fetch_kit::{Site, report, site_table};
use octofeed::run::Status;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

const NETHERLANDS: &str = "/en/web/cybercrime/-/the-netherlands-makes-a-voluntary-contribution-to-the-octopus-project";
const PACIFIC: &str = "/en/web/cybercrime/-/pacific-islands-regional-workshop-on-the-second-additional-protocol";
const UKRAINE: &str = "/en/web/cybercrime/-/ukraine-support-to-prosecutors-handling-electronic-evidence-of-war-crimes";
const LISTING: &str = "/en/web/cybercrime/octopus-project";

/// The selectors of `octopus` in config/octofeed.toml: the Activities template
/// for the listing, the article template ("PLACE DATE" header, then the body).
const OCTOPUS_RULES: &str = r#"
[source.select]
item = ".portlet-asset-publisher div:has(> h3 a[href*='/-/'])"
title = "h3"
link = "a[href*='/-/']"
date = { css = "h3 + *", regex = '^(?:\p{L}+\s+)?(\d{1,2}(?:\s+\p{L}+)?(?:\s*[-–]\s*\d{1,2})?\s+\p{L}+\s+\d{4})' }
location = { css = "h3 + *", regex = '^(?:\p{L}+\s+)?\d{1,2}(?:\s+\p{L}+)?(?:\s*[-–]\s*\d{1,2})?\s+\p{L}+\s+\d{4}\s+(.+)$' }
summary = "h3 ~ :nth-last-child(2)"

[source.detail]
content = ".asset-full-content .journal-content-article h1 + * + *"
date = { css = ".asset-full-content .journal-content-article h1 + *", regex = '(\d{1,2}(?:\s+\p{L}+)?(?:\s*[-–]\s*\d{1,2})?\s+\p{L}+\s+\d{4})\s*$' }
location = { css = ".asset-full-content .journal-content-article h1 + *", regex = '^(.+?)\s+\d{1,2}(?:\s+\p{L}+)?(?:\s*[-–]\s*\d{1,2})?\s+\p{L}+\s+\d{4}\s*$' }
"#;

/// One activity of the listing; `meta` is its "DATE PLACE" line, if any.
fn activity(href: &str, title: &str, meta: Option<&str>, summary: &str) -> String {
    let meta = meta.map(|meta| format!("<p class=\"date-place\">{meta}</p>")).unwrap_or_default();
    format!(
        "<div class=\"element\"><h3><a href=\"{href}\">{title}</a></h3>{meta}\
         <div class=\"abstract\">{summary}</div><div class=\"read-more\"><a href=\"{href}\">Read More</a></div></div>"
    )
}

/// The listing page; the Netherlands entry has no meta line (its article gives
/// date and place), and `footer` changes the page without changing any entry.
fn listing(netherlands_summary: &str, footer: &str) -> String {
    let activities = [
        activity(
            PACIFIC,
            "Pacific Islands: regional workshop on the Second Additional Protocol",
            Some("29-30 November 2022 Online"),
            "Central authorities met online...",
        ),
        activity(
            NETHERLANDS,
            "The Netherlands makes a voluntary contribution to the Octopus Project",
            None,
            netherlands_summary,
        ),
        activity(
            UKRAINE,
            "Ukraine: support to prosecutors handling electronic evidence of war crimes",
            Some("08 November 2022 Kyiv"),
            "Prosecutors took part in a workshop...",
        ),
    ]
    .concat();
    format!(
        "<!doctype html><html><body><div class=\"portlet-boundary portlet-asset-publisher\">\
         <div class=\"activities-list\"><h2>Activities</h2>{activities}</div></div><footer>{footer}</footer></body></html>"
    )
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/fixtures/coe/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Mounts the listing and the articles, each article expected `calls` times;
/// the Ukraine article answers 500 (`ukraine_calls` times).
async fn mount(server: &MockServer, listing_html: String, calls: [u64; 3]) {
    let html = |body: String| ResponseTemplate::new(200).set_body_raw(body, "text/html; charset=utf-8");
    Mock::given(path(LISTING)).respond_with(html(listing_html)).mount(server).await;
    Mock::given(path(NETHERLANDS)).respond_with(html(fixture("article.html"))).expect(calls[0]).mount(server).await;
    Mock::given(path(PACIFIC)).respond_with(html(fixture("article-2.html"))).expect(calls[1]).mount(server).await;
    Mock::given(path(UKRAINE)).respond_with(ResponseTemplate::new(500)).expect(calls[2]).mount(server).await;
}

fn site(server: &MockServer) -> Site {
    let source = format!(
        "[[source]]\nid = \"octopus\"\nurl = \"{}{LISTING}\"\nrobots = false\ntimezone = \"Europe/Paris\"\n{OCTOPUS_RULES}",
        server.uri()
    );
    Site::new(&format!("{}{source}", site_table("retries = 0")))
}

const SUMMARY: &str = "The Netherlands has made a voluntary contribution...";

#[tokio::test]
async fn articles_give_content_date_and_place() {
    let server = MockServer::start().await;
    mount(&server, listing(SUMMARY, ""), [1, 1, 1]).await;
    let site = site(&server);
    let run = site.run().await;
    let octopus = report(&run, "octopus");
    assert_eq!((octopus.status, octopus.items_new), (Status::Ok, 3), "{run:?}");
    let feed = site.json_feed("octopus");
    let item = |link: &str| {
        let items = feed["items"].as_array().unwrap();
        items.iter().find(|item| item["url"] == format!("{}{link}", server.uri())).unwrap().clone()
    };
    let netherlands = item(NETHERLANDS);
    assert_eq!(netherlands["date_published"], "2022-11-24T12:00:00+01:00", "24 November 2022: noon in Strasbourg");
    assert_eq!(netherlands["_octofeed"]["location"], "Strasbourg, France");
    let content = netherlands["content_html"].as_str().unwrap();
    assert!(content.contains("has made a voluntary contribution of <strong>€50 000</strong>"), "{content}");
    assert!(content.contains(&format!("href=\"{}/en/web/cybercrime/octopus-project\"", server.uri())), "{content}");
    assert!(content.contains(&format!("{}/en/web/cybercrime/second-additional-protocol", server.uri())), "{content}");
    for unsafe_part in ["<script", "onclick", "onerror", "javascript:", "<iframe"] {
        assert!(!content.contains(unsafe_part), "{unsafe_part} left in {content}");
    }
    let pacific = item(PACIFIC);
    assert_eq!(pacific["_octofeed"]["location"], "Online");
    assert_eq!(pacific["date_published"], "2022-11-29T12:00:00+01:00");
    assert!(pacific["content_html"].as_str().unwrap().contains("<ol>"));
}

#[tokio::test]
async fn rss_and_atom_carry_the_full_article() {
    let server = MockServer::start().await;
    mount(&server, listing(SUMMARY, ""), [1, 1, 1]).await;
    let site = site(&server);
    site.run().await;
    let rss = rss::Channel::read_from(site.published("octopus/rss.xml").as_bytes()).unwrap();
    let atom = atom_syndication::Feed::read_from(site.published("octopus/atom.xml").as_bytes()).unwrap();
    let link = format!("{}{NETHERLANDS}", server.uri());
    let rss_item = rss.items().iter().find(|item| item.link() == Some(link.as_str())).unwrap();
    let rss_content = rss_item.content().unwrap();
    let atom_entry = atom.entries().iter().find(|entry| entry.links()[0].href() == link).unwrap();
    let atom_content = atom_entry.content().and_then(|content| content.value()).unwrap();
    for content in [rss_content, atom_content] {
        assert!(content.contains("Cybercrime knows no borders"), "{content}");
        assert!(content.contains(&format!("href=\"{}/en/web/cybercrime/octopus-project\"", server.uri())));
        assert!(!content.contains("<script") && !content.contains("onclick"), "{content}");
    }
}

#[tokio::test]
async fn a_failed_article_keeps_the_listing_fields_with_a_warning() {
    let server = MockServer::start().await;
    mount(&server, listing(SUMMARY, ""), [1, 1, 1]).await;
    let site = site(&server);
    let run = site.run().await;
    let octopus = report(&run, "octopus");
    assert_eq!(octopus.status, Status::Ok);
    assert!(octopus.warnings.iter().any(|warning| warning.contains(UKRAINE) && warning.contains("500")), "{octopus:?}");
    let feed = site.json_feed("octopus");
    let ukraine = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["title"].as_str().unwrap().starts_with("Ukraine"))
        .unwrap()
        .clone();
    assert_eq!(ukraine["date_published"], "2022-11-08T12:00:00+01:00");
    assert_eq!(ukraine["_octofeed"]["location"], "Kyiv");
    assert_eq!(ukraine["content_text"], "Prosecutors took part in a workshop...");
}

#[tokio::test]
async fn articles_are_fetched_once_and_again_only_when_their_entry_changes() {
    let server = MockServer::start().await;
    mount(&server, listing(SUMMARY, ""), [1, 1, 1]).await;
    let site = site(&server);
    site.run().await;
    server.verify().await;

    // The page changed, no entry did: no article is fetched (the failed one is retried).
    server.reset().await;
    mount(&server, listing(SUMMARY, "© 2023"), [0, 0, 1]).await;
    let run = site.run().await;
    assert_eq!(report(&run, "octopus").items_updated, 0, "{run:?}");
    server.verify().await;

    // The Netherlands summary changed: only its article is fetched again.
    server.reset().await;
    mount(&server, listing("The Netherlands gives €50 000 to the Octopus Project...", "© 2023"), [1, 0, 1]).await;
    let run = site.run().await;
    assert_eq!(report(&run, "octopus").items_updated, 1, "{run:?}");
    server.verify().await;
    let feed = site.json_feed("octopus");
    let netherlands = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["title"].as_str().unwrap().starts_with("The Netherlands"))
        .unwrap()
        .clone();
    assert_eq!(netherlands["summary"], "The Netherlands gives €50 000 to the Octopus Project...");
    assert!(netherlands["content_html"].as_str().unwrap().contains("Cybercrime knows no borders"));
}
