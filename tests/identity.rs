//! Identity: guids from cleaned absolute links, `urn:uuid:` hashes for items
//! without a link that stay the same across runs, duplicates on one page merged.
//!
//! Through the library API and whole runs over `file:` fixtures; no network.

mod common;

use common::{edge_cases_config, extract_source, fixture_text, parse_config, parse_feed, run_once};

const LINKS: &str = r#"
[site]
title = "Links"

[[source]]
id = "links"
url = "https://www.example.org/news/index.html"

[source.select]
item = "li"
title = "h3"
link = "a"
summary = "p"
"#;

#[test]
fn guid_is_the_absolute_link_without_fragment_or_utm_parameters() {
    let html = r#"<base href="/base/"><ul>
        <li><h3>One</h3><a href="one.html?id=3&amp;utm_source=rss&amp;utm_medium=feed#comments">x</a></li>
        <li><h3>Two</h3><a href="/two?UTM_campaign=x">x</a></li>
        <li><h3>Three</h3><a href="https://other.example.org/three?page=2&amp;lang=en">x</a></li></ul>"#;
    let (_, found) = extract_source(&parse_config(LINKS), "links", html);
    let guids: Vec<&str> = found.items.iter().map(|item| item.guid.as_str()).collect();
    assert_eq!(
        guids,
        [
            "https://www.example.org/base/one.html?id=3",
            "https://www.example.org/two",
            "https://other.example.org/three?page=2&lang=en"
        ]
    );
    assert_eq!(
        found.items[0].link,
        "https://www.example.org/base/one.html?id=3&utm_source=rss&utm_medium=feed#comments"
    );
}

#[test]
fn duplicates_on_one_page_are_merged_into_the_first() {
    let html = r#"<ul>
        <li><h3>Conference</h3><a href="/c">x</a></li>
        <li><h3>Conference</h3><a href="/c#top">x</a><p>The summary.</p></li>
        <li><h3>Conference</h3><a href="/c?utm_source=mail">x</a><p>Another summary.</p></li></ul>"#;
    let (raw, found) = extract_source(&parse_config(LINKS), "links", html);
    assert_eq!((raw, found.items.len()), (3, 1));
    assert_eq!(found.items[0].link, "https://www.example.org/c", "the first sighting's link");
    assert_eq!(found.items[0].summary.as_deref(), Some("The summary."), "what the first lacked, from the next");
}

#[test]
fn items_without_a_link_get_a_hash_guid_that_depends_on_title_and_date() {
    let (_, found) = extract_source(&edge_config(), "edge", &fixture_text("wild/edge-cases.html"));
    let closed: Vec<_> = found.items.iter().filter(|item| item.title.starts_with("Office closed")).collect();
    assert_eq!(closed.len(), 2, "24 and 31 December; the second 24 December merged");
    for item in &closed {
        assert!(item.guid.starts_with("urn:uuid:") && item.guid.len() == 45, "{}", item.guid);
        assert_eq!(item.link, "https://news.example.org/cybercrime/");
    }
    assert_ne!(closed[0].guid, closed[1].guid);
    let (_, again) = extract_source(&edge_config(), "edge", &fixture_text("wild/edge-cases.html"));
    let guids = |items: &[octofeed::model::Item]| items.iter().map(|item| item.guid.clone()).collect::<Vec<_>>();
    assert_eq!(guids(&found.items), guids(&again.items));
}

fn edge_config() -> octofeed::config::Config {
    parse_config(
        r#"
[site]
title = "Edge"
[[source]]
id = "edge"
url = "https://news.example.org/cybercrime/"
[source.select]
item = "ul.news > li.news-item"
title = "h3"
link = "h3 a"
date = ".date"
summary = ".summary"
"#,
    )
}

#[tokio::test]
async fn hash_guids_are_the_same_in_two_separate_runs() {
    let mut published = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = edge_cases_config(dir.path());
        let report = run_once(&config).await;
        assert_eq!(report.sources[0].items_seen, 15);
        let feed = parse_feed(&dir.path().join("public/edge/atom.xml"));
        let mut ids: Vec<String> = feed.entries.iter().map(|entry| entry.id.clone()).collect();
        ids.sort();
        published.push(ids);
    }
    assert_eq!(published[0].len(), 15);
    assert_eq!(
        published[0].iter().filter(|id| id.starts_with("urn:uuid:")).count(),
        4,
        "no link, javascript: and mailto:"
    );
    assert_eq!(published[0], published[1], "fresh stores, same guids");
}

#[tokio::test]
async fn a_run_publishes_duplicates_on_one_page_as_one_entry_with_the_merged_fields() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = edge_cases_config(dir.path());
    run_once(&config).await;
    let feed = parse_feed(&dir.path().join("public/edge/feed.json"));
    let day: Vec<_> = feed
        .entries
        .iter()
        .filter(|entry| entry.title.as_ref().is_some_and(|title| title.content.starts_with("Budapest Convention Day")))
        .collect();
    assert_eq!(day.len(), 1);
    assert_eq!(day[0].id, "https://news.example.org/news/budapest-convention-day");
    let summary = day[0].summary.as_ref().map(|summary| summary.content.as_str());
    assert_eq!(
        summary,
        Some("Twenty years after its opening for signature, the Convention counts Parties on every continent.")
    );
}
