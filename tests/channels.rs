//! Channels: feeds over several sources, filtered, deduplicated across sources,
//! each item naming its source; failing sources keep contributing their stored items.

mod feeds_kit;

use feeds_kit::{Entry, Workspace, atom, json_feed, rss};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn serve(server: &MockServer, at: &str, body: String, content_type: &str) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(ResponseTemplate::new(200).set_body_string(body).insert_header("content-type", content_type))
        .mount(server)
        .await;
}

fn source(id: &str, title: &str, url: String) -> String {
    format!("[[source]]\nid = \"{id}\"\ntitle = \"{title}\"\nurl = \"{url}\"\nkind = \"feed\"\n\n")
}

fn entry<'a>(title: &'a str, link: &'a str, date: &'a str, summary: &'a str) -> Entry<'a> {
    Entry { title, link, date, summary }
}

fn titles(xml: &str) -> Vec<String> {
    let feed = feed_rs::parser::parse(xml.as_bytes()).expect("published feeds parse");
    feed.entries.into_iter().map(|entry| entry.title.map(|t| t.content).unwrap_or_default()).collect()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("feed.json is JSON")
}

#[tokio::test(flavor = "multi_thread")]
async fn channels_filter_by_words_and_regexes_keep_max_items_and_name_each_items_source() {
    let server = MockServer::start().await;
    let alpha = [
        entry(
            "Cybercrime convention anniversary",
            "https://a.example/convention",
            "2022-11-20T10:00:00Z",
            "Twenty years.",
        ),
        entry("Vacancy: cybercrime analyst", "https://a.example/vacancy", "2022-11-21T10:00:00Z", "Apply now."),
        entry("Gardening tips", "https://a.example/garden", "2022-11-22T10:00:00Z", "Roses."),
    ];
    let beta = [
        entry("E-Evidence rules adopted", "https://b.example/rules", "2022-11-23T10:00:00Z", "New rules."),
        entry("Evidence in court", "https://b.example/court", "2022-11-18T10:00:00Z", "Judges and eevidence."),
        entry("Weather report", "https://b.example/weather", "2022-11-24T10:00:00Z", "Rain."),
    ];
    let gamma = [
        entry("Octopus", "https://c.example/octopus", "2022-11-25T10:00:00Z", "A CYBERCRIME conference."),
        entry("Old cybercrime news", "https://c.example/old", "2022-11-01T10:00:00Z", "Long ago."),
    ];
    serve(&server, "/alpha.xml", rss("Alpha", &alpha), "application/rss+xml").await;
    serve(&server, "/beta.xml", atom("Beta", &beta), "application/atom+xml").await;
    serve(&server, "/gamma.json", json_feed("Gamma", &gamma), "application/feed+json").await;
    let workspace = Workspace::new();
    let uri = server.uri();
    workspace.config(&format!(
        "{}{}{}{}",
        source("alpha", "Alpha news", format!("{uri}/alpha.xml")),
        source("beta", "Beta news", format!("{uri}/beta.xml")),
        source("gamma", "Gamma news", format!("{uri}/gamma.json")),
        r#"
[[channel]]
id = "cyber"
title = "Cybercrime"
sources = ["alpha", "beta", "gamma"]
include = ["cybercrime", "re:e-?evidence"]
exclude = ["VACANCY"]
max_items = 4

[[channel]]
id = "everything"
title = "Everything"
sources = ["alpha", "beta", "gamma"]
"#
    ));
    let (code, stdout, stderr) = workspace.run("2022-12-01T10:00:00Z");
    assert_eq!(code, 0, "{stdout}{stderr}");

    let rss_xml = workspace.published("cyber/rss.xml");
    assert_eq!(
        titles(&rss_xml),
        ["Octopus", "E-Evidence rules adopted", "Cybercrime convention anniversary", "Evidence in court"],
        "include (case-insensitive words, regex over summaries), exclude, newest max_items"
    );
    assert_eq!(titles(&workspace.published("everything/rss.xml")).len(), 8);
    assert!(
        rss_xml.contains(r#"<source url="https://feeds.example.org/alpha/rss.xml">Alpha news</source>"#),
        "{rss_xml}"
    );
    assert!(
        rss_xml.contains(r#"<source url="https://feeds.example.org/gamma/rss.xml">Gamma news</source>"#),
        "{rss_xml}"
    );
    assert_eq!(rss_xml.matches("<source url=").count(), 4);

    let atom_xml = workspace.published("cyber/atom.xml");
    let atom_feed = feed_rs::parser::parse(atom_xml.as_bytes()).unwrap();
    assert_eq!(atom_feed.entries.len(), 4);
    assert_eq!(atom_xml.matches("<source>").count(), 4, "{atom_xml}");
    assert!(atom_xml.contains("<title>Beta news</title>"), "{atom_xml}");

    let feed = json(&workspace.published("cyber/feed.json"));
    let sources: Vec<&str> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["_octofeed"]["source"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["gamma", "beta", "alpha", "beta"]);
    assert_eq!(feed["items"][0]["_octofeed"]["source"]["feed_url"], "https://feeds.example.org/gamma/rss.xml");
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicates_across_sources_are_one_item_whose_guid_never_changes() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let alpha = [entry(
        "Octopus Conference: Day One",
        "https://news.example.org/octopus/day-one",
        "2022-11-24T10:00:00Z",
        "Short.",
    )];
    let beta = [
        entry(
            "Octopus Conference — day one!",
            "HTTPS://NEWS.Example.org:443/octopus/day-one/?utm_source=beta&utm_medium=feed#top",
            "2022-11-24T12:00:00Z",
            "A much longer summary of the first day of the conference.",
        ),
        entry("Judges meet", "https://beta.example.net/judges", "2022-11-26T09:00:00Z", "Judges."),
    ];
    let gamma = [
        // Another address on the same host: the same title on the same day is corroborated.
        entry(
            "octopus conference day one",
            "https://news.example.org/p/77",
            "2022-11-24T20:00:00Z",
            "Gamma's full article text about the opening day.",
        ),
        entry("Judges meet", "https://gamma.example.com/p/78", "2022-11-27T09:00:00Z", "Another day, another item."),
    ];
    serve(&server, "/alpha.xml", rss("Alpha", &alpha), "application/rss+xml").await;
    serve(&server, "/beta.xml", atom("Beta", &beta), "application/atom+xml").await;
    serve(&server, "/gamma.json", json_feed("Gamma", &gamma), "application/feed+json").await;
    let workspace = Workspace::new();
    let channel = |ids: &str| format!("[[channel]]\nid = \"all\"\ntitle = \"All\"\nsources = [{ids}]\n");
    let alpha_source = source("alpha", "Alpha", format!("{uri}/alpha.xml"));
    let beta_source = source("beta", "Beta", format!("{uri}/beta.xml"));
    let gamma_source = source("gamma", "Gamma", format!("{uri}/gamma.json"));
    let runs = [
        (format!("{alpha_source}{}", channel("\"alpha\"")), "2022-12-01T10:00:00Z", 1),
        (format!("{alpha_source}{beta_source}{}", channel("\"alpha\", \"beta\"")), "2022-12-02T10:00:00Z", 2),
        (
            format!("{alpha_source}{beta_source}{gamma_source}{}", channel("\"alpha\", \"beta\", \"gamma\"")),
            "2022-12-03T10:00:00Z",
            3,
        ),
    ];
    for (run, (config, now, expected)) in runs.iter().enumerate() {
        workspace.config(config);
        let (code, stdout, stderr) = workspace.run(now);
        assert_eq!(code, 0, "run {run}: {stdout}{stderr}");
        let feed = json(&workspace.published("all/feed.json"));
        let items = feed["items"].as_array().unwrap();
        assert_eq!(items.len(), *expected, "run {run}: {feed:#}");
        let octopus: Vec<&serde_json::Value> =
            items.iter().filter(|item| item["title"].as_str().unwrap().to_lowercase().contains("octopus")).collect();
        assert_eq!(octopus.len(), 1, "run {run}: one item for the three copies");
        assert_eq!(octopus[0]["id"], "https://news.example.org/octopus/day-one", "run {run}: the guid never changes");
        assert_eq!(octopus[0]["_octofeed"]["source"]["id"], "alpha", "run {run}: the earliest seen copy is kept");
        if run >= 1 {
            assert_eq!(octopus[0]["summary"], "A much longer summary of the first day of the conference.", "enriched");
        }
        if run == 2 {
            let content = octopus[0]["content_html"].as_str().unwrap();
            assert!(content.contains("Gamma's full article text"), "enriched with the fuller content: {content}");
        }
    }
    let rss_xml = workspace.published("all/rss.xml");
    assert_eq!(rss_xml.matches("<guid").count(), 3);
    assert!(rss_xml.contains(">https://news.example.org/octopus/day-one</guid>"), "{rss_xml}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_source_keeps_contributing_its_stored_items_and_the_channel_stays_the_same() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let alpha = [entry("Alpha one", "https://a.example/1", "2022-11-20T10:00:00Z", "One.")];
    let beta = [
        entry("Beta one", "https://b.example/1", "2022-11-21T10:00:00Z", "One."),
        entry("Beta two", "https://b.example/2", "2022-11-22T10:00:00Z", "Two."),
    ];
    serve(&server, "/alpha.xml", rss("Alpha", &alpha), "application/rss+xml").await;
    serve(&server, "/beta.xml", rss("Beta", &beta), "application/rss+xml").await;
    let workspace = Workspace::new();
    workspace.config(&format!(
        "{}{}[[channel]]\nid = \"both\"\ntitle = \"Both\"\nsources = [\"alpha\", \"beta\"]\n",
        source("alpha", "Alpha", format!("{uri}/alpha.xml")),
        source("beta", "Beta", format!("{uri}/beta.xml")),
    ));
    assert_eq!(workspace.run("2022-12-01T10:00:00Z").0, 0);
    let files = ["both/rss.xml", "both/atom.xml", "both/feed.json", "beta/rss.xml"];
    let before: Vec<String> = files.iter().map(|file| workspace.published(file)).collect();

    server.reset().await;
    serve(&server, "/alpha.xml", rss("Alpha", &alpha), "application/rss+xml").await;
    Mock::given(path("/beta.xml")).respond_with(ResponseTemplate::new(500)).mount(&server).await;
    let (code, stdout, stderr) = workspace.run("2022-12-02T10:00:00Z");
    assert_eq!(code, 1, "{stdout}{stderr}");
    let failed_line = stdout.lines().find(|line| line.starts_with("failed")).unwrap_or_default();
    assert!(failed_line.contains("beta") && failed_line.contains(&format!("{uri}/beta.xml")), "{stdout}");
    assert!(failed_line.contains("500"), "{stdout}");
    let after: Vec<String> = files.iter().map(|file| workspace.published(file)).collect();
    assert_eq!(after, before, "nothing else changed: the channel and beta's feed are byte-identical");

    server.reset().await;
    let alpha_more = [alpha[0].clone(), entry("Alpha two", "https://a.example/2", "2022-11-30T10:00:00Z", "Two.")];
    serve(&server, "/alpha.xml", rss("Alpha", &alpha_more), "application/rss+xml").await;
    serve(&server, "/beta.xml", "<html><body>Maintenance</body></html>".into(), "text/html").await;
    let (code, stdout, _) = workspace.run("2022-12-03T10:00:00Z");
    assert_eq!(code, 1);
    assert!(stdout.contains("is not a readable RSS, Atom or JSON feed"), "{stdout}");
    assert_eq!(
        titles(&workspace.published("both/rss.xml")),
        ["Alpha two", "Beta two", "Beta one", "Alpha one"],
        "the channel is republished with the failing source's stored items"
    );
    assert_eq!(workspace.published("beta/rss.xml"), before[3], "the failed source's own feed is left as it was");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_feed_fails_only_its_own_source() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/feeds/broken/truncated-mid-item.xml");
    let broken = std::fs::read_to_string(corpus).unwrap();
    serve(&server, "/broken.xml", broken, "application/rss+xml").await;
    let alpha = [entry("Alpha one", "https://a.example/1", "2022-11-20T10:00:00Z", "One.")];
    serve(&server, "/alpha.xml", rss("Alpha", &alpha), "application/rss+xml").await;
    let workspace = Workspace::new();
    workspace.config(&format!(
        "{}{}[[channel]]\nid = \"both\"\ntitle = \"Both\"\nsources = [\"alpha\", \"broken\"]\n",
        source("alpha", "Alpha", format!("{uri}/alpha.xml")),
        source("broken", "Broken", format!("{uri}/broken.xml")),
    ));
    let (code, stdout, stderr) = workspace.run("2022-12-01T10:00:00Z");
    assert_eq!(code, 1, "{stdout}{stderr}");
    let line = stdout.lines().find(|line| line.contains("broken")).unwrap();
    assert!(line.starts_with("failed"), "{line}");
    assert!(line.contains(&format!("{uri}/broken.xml is not a readable RSS, Atom or JSON feed: ")), "{line}");
    assert!(stdout.lines().any(|line| line.starts_with("ok") && line.contains("alpha")), "{stdout}");
    assert_eq!(titles(&workspace.published("alpha/rss.xml")), ["Alpha one"]);
    assert_eq!(titles(&workspace.published("both/rss.xml")), ["Alpha one"]);
    assert!(!workspace.dir.path().join("public/broken/rss.xml").exists());
}

/// `channel_doc_from` loads a window of the newest items and widens it while
/// the filters leave the feed short: the feed is the one all items would give.
#[test]
fn a_channel_window_grows_until_the_filters_fill_the_feed() {
    use chrono::{Duration, TimeZone, Utc};
    use octofeed::feeds::{channel_doc, channel_doc_from};
    use octofeed::model::{Item, StoredItem};

    let text = "[site]\ntitle = \"T\"\n[[source]]\nid = \"a\"\nurl = \"https://a.example/feed\"\nkind = \"feed\"\n\
                [[channel]]\nid = \"c\"\ntitle = \"C\"\nsources = [\"a\"]\ninclude = [\"rare\"]\nmax_items = 5\n";
    let config = octofeed::config::Config::parse(std::path::Path::new("/tmp/t.toml"), text).unwrap();
    let start = Utc.with_ymd_and_hms(2022, 1, 1, 0, 0, 0).unwrap();
    // 3,000 items, newest first; only the 10 oldest match `include`.
    let all: Vec<StoredItem> = (0..3000)
        .map(|n| {
            let title = if n >= 2990 { format!("Rare item {n}") } else { format!("Common item {n}") };
            let link = format!("https://a.example/{n}");
            let published = start - Duration::hours(n);
            StoredItem {
                source_id: "a".into(),
                item: Item { guid: link.clone(), link, title, published: Some(published), ..Item::default() },
                first_seen: published,
                updated: published,
                position: 0,
                announced: published,
            }
        })
        .collect();
    let mut limits = Vec::new();
    let doc = channel_doc_from(&config, &config.channels[0], |limit| {
        limits.push(limit);
        Ok::<_, std::convert::Infallible>(all.iter().take(limit.unwrap_or(usize::MAX)).cloned().collect())
    })
    .unwrap();
    assert_eq!(limits, [Some(1000), Some(4000)], "the window grew once, then the store was exhausted");
    let titles: Vec<&str> = doc.entries.iter().map(|entry| entry.item.title.as_str()).collect();
    assert_eq!(titles, ["Rare item 2990", "Rare item 2991", "Rare item 2992", "Rare item 2993", "Rare item 2994"]);
    assert_eq!(doc, channel_doc(&config, &config.channels[0], all));
}
