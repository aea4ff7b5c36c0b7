//! Identity of feed sources' items over time: a guid must not depend on a
//! redirect the upstream feed starts, nor on where a saved copy lies; an entry
//! without a link of its own has none. Local mock server and temporary files only.

mod fetch_kit;

use fetch_kit::{Site, report, site_table};
use octofeed::run::Status;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// An RSS feed whose items have plain-number ids (not URLs); the second has no link.
const FEED: &str = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Episodes</title>
    <link>https://podcast.example.org/</link>
    <item><title>Episode 1</title><guid isPermaLink="false">1001</guid><link>https://podcast.example.org/1</link></item>
    <item><title>Episode 2</title><guid isPermaLink="false">1002</guid></item>
    </channel></rss>"#;

fn feed_source(id: &str, url: &str, extra: &str) -> String {
    format!("[[source]]\nid = \"{id}\"\nurl = \"{url}\"\nkind = \"feed\"\nrobots = false\n{extra}\n")
}

fn guids(site: &Site, id: &str) -> Vec<String> {
    let feed = site.json_feed(id);
    let items = feed["items"].as_array().expect("items").iter();
    items.map(|item| item["id"].as_str().expect("an id").to_owned()).collect()
}

#[tokio::test]
async fn a_feed_that_starts_redirecting_keeps_its_items_guids() {
    let server = MockServer::start().await;
    let served = Mock::given(path("/feed.xml")).respond_with(ResponseTemplate::new(200).set_body_string(FEED));
    let first_mount = server.register_as_scoped(served).await;
    let site =
        Site::new(&format!("{}{}", site_table(""), feed_source("pod", &format!("{}/feed.xml", server.uri()), "")));
    let first = site.run().await;
    assert_eq!(report(&first, "pod").items_new, 2);
    let before = guids(&site, "pod");
    drop(first_mount);

    // The feed moves; its old address now redirects, and the body changed a little.
    let moved = FEED.replace("<title>Episodes</title>", "<title>Episodes (moved)</title>");
    Mock::given(path("/feed.xml"))
        .respond_with(ResponseTemplate::new(301).insert_header("Location", format!("{}/new/feed.xml", server.uri())))
        .mount(&server)
        .await;
    Mock::given(path("/new/feed.xml"))
        .respond_with(ResponseTemplate::new(200).set_body_string(moved))
        .mount(&server)
        .await;
    let second = site.run().await;
    let pod = report(&second, "pod");
    assert_eq!(pod.status, Status::Ok, "{pod:?}");
    assert_eq!((pod.items_seen, pod.items_new), (2, 0), "a redirect made old items new");
    assert_eq!(guids(&site, "pod"), before);
}

#[tokio::test]
async fn a_saved_feed_resolves_and_identifies_against_its_page_url_wherever_it_lies() {
    let page_url = "https://podcast.example.org/feed.xml";
    let mut all_guids = Vec::new();
    for folder in ["one", "two"] {
        let dir = tempfile::tempdir().expect("a folder");
        let saved = dir.path().join(folder).join("feed.xml");
        std::fs::create_dir_all(saved.parent().expect("a parent")).expect("the folder");
        std::fs::write(&saved, FEED.replace("https://podcast.example.org/1", "1")).expect("the saved feed");
        let extra = format!("page_url = \"{page_url}\"");
        let site = Site::new(&format!(
            "{}{}",
            site_table(""),
            feed_source("pod", &format!("file:{}", saved.display()), &extra)
        ));
        site.run().await;
        let feed = site.json_feed("pod");
        let published = feed.to_string();
        assert!(!published.contains("file:"), "a local path leaked into the feed: {published}");
        assert_eq!(
            feed["items"][0]["url"], "https://podcast.example.org/1",
            "a relative link resolves against page_url"
        );
        all_guids.push(guids(&site, "pod"));
    }
    assert_eq!(all_guids[0], all_guids[1], "the folder a saved feed lies in changed its guids");
    assert!(all_guids[0].iter().all(|guid| guid.starts_with(page_url)), "{:?}", all_guids[0]);
}

#[tokio::test]
async fn an_entry_without_a_link_links_to_the_feeds_site_never_the_feed_document() {
    let server = MockServer::start().await;
    Mock::given(path("/feed.xml")).respond_with(ResponseTemplate::new(200).set_body_string(FEED)).mount(&server).await;
    let site =
        Site::new(&format!("{}{}", site_table(""), feed_source("pod", &format!("{}/feed.xml", server.uri()), "")));
    site.run().await;
    let feed = site.json_feed("pod");
    let second =
        feed["items"].as_array().expect("items").iter().find(|item| item["title"] == "Episode 2").expect("episode 2");
    assert_eq!(second["url"], "https://podcast.example.org/", "the feed's web page, not its address: {second}");
    assert_eq!(second["id"].as_str().map(|id| id.ends_with("#1002")), Some(true), "the guid is the feed's: {second}");
}

/// A listing page whose items link under `prefix`, each with a date.
fn listing(prefix: &str) -> String {
    let items: String = [
        ("Plenary opens", "24 November 2022"),
        ("Workshop in Accra", "8 November 2022"),
        ("New guide", "20 October 2022"),
    ]
    .iter()
    .enumerate()
    .map(|(n, (title, date))| {
        format!(
            "<li class=\"news\"><h3><a href=\"{prefix}/item-{n}\">{title}</a></h3><p class=\"date\">{date}</p></li>"
        )
    })
    .collect();
    format!("<ul>{items}</ul>")
}

#[tokio::test]
async fn a_site_moving_its_items_to_new_addresses_brings_back_no_new_items() {
    let server = MockServer::start().await;
    let before =
        Mock::given(path("/news")).respond_with(ResponseTemplate::new(200).set_body_string(listing("/en/web/old")));
    let scoped = server.register_as_scoped(before).await;
    let source = format!(
        "[[source]]\nid = \"coe\"\nurl = \"{}/news\"\nrobots = false\n\
         [source.select]\nitem = \"li.news\"\ntitle = \"h3\"\nlink = \"h3 a\"\ndate = \".date\"\n",
        server.uri()
    );
    let site = Site::new(&format!("{}{source}", site_table("")));
    assert_eq!(report(&site.run().await, "coe").items_new, 3);
    let guids_before = guids(&site, "coe");
    drop(scoped);

    // The site moves every item under a new path prefix (as a move to https or new slugs would).
    Mock::given(path("/news"))
        .respond_with(ResponseTemplate::new(200).set_body_string(listing("/en/web/cybercrime/-")))
        .mount(&server)
        .await;
    let run = site.run().await;
    let coe = report(&run, "coe");
    assert_eq!((coe.items_seen, coe.items_new), (3, 0), "the moved items came back as new");
    assert!(
        coe.warnings.iter().any(|warning| warning.contains("3 items moved to new addresses")),
        "{:?}",
        coe.warnings
    );
    assert_eq!(guids(&site, "coe"), guids_before, "the guids are the stored ones");
    let feed = site.json_feed("coe");
    let link = feed["items"][0]["url"].as_str().expect("a link");
    assert!(link.contains("/en/web/cybercrime/-/item-"), "the feed links to the new address: {link}");
}
