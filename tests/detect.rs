//! Detection (`octofeed detect`, `select = "auto"`) and the article reader
//! (`octofeed article`) on pages written for these tests (fixtures/detect/,
//! fixtures/wild/) and on the coe.int fixtures, where detection must find what
//! the hand-written selectors of config/offline.toml find.
//!
//! Pure library calls, no network; the commands are in tests/detect_cli.rs.

mod common;

use common::{fixture_text, offline_config};
use octofeed::config::{Config, SourceKind};
use octofeed::detect::{self, Detected, Found, Method};
use octofeed::normalize::normalize;
use url::Url;

fn url(text: &str) -> Url {
    Url::parse(text).expect("a valid URL")
}

/// Detection on a fixture read as `page_url`; it must find items.
fn detected(fixture: &str, page_url: &str) -> Detected {
    let page_url = url(page_url);
    let detection = detect::detect(&fixture_text(fixture), &page_url, 500);
    detection.items.unwrap_or_else(|error| panic!("{fixture}: {error}"))
}

fn links(detected: &Detected) -> Vec<String> {
    detected.items.iter().map(|item| item.link.as_ref().expect("a link").to_string()).collect()
}

fn titles(detected: &Detected) -> Vec<String> {
    detected.items.iter().map(|item| item.title.clone().expect("a title")).collect()
}

fn method(detected: &Detected) -> Option<Method> {
    match &detected.found {
        Found::Selectors { method, .. } => Some(*method),
        Found::JsonLd => None,
    }
}

/// The proposed `[[source]]` as a config: it must load, and reading the page
/// with it must give the detected items.
fn proposal_round_trips(fixture: &str, page_url: &str, detected: &Detected) {
    let Found::Selectors { rules, .. } = &detected.found else { panic!("{fixture}: no selectors proposed") };
    let path = common::fixture_path(fixture);
    let toml = format!(
        "[site]\ntitle = \"t\"\n[[source]]\nid = \"proposed\"\nurl = \"file:{}\"\npage_url = \"{page_url}\"\n{}",
        path.display(),
        rules.toml()
    );
    let config = Config::parse(std::path::Path::new("/tests/octofeed.toml"), &toml)
        .unwrap_or_else(|errors| panic!("{fixture}: the proposal is not a valid source: {errors}\n{toml}"));
    let (_, normalized) = common::extract_source(&config, "proposed", &fixture_text(fixture));
    let from_config: Vec<String> = normalized.items.iter().map(|item| item.link.clone()).collect();
    assert_eq!(from_config, links(detected), "{fixture}: the printed source reads other items");
}

#[test]
fn a_json_ld_item_list_gives_its_elements_in_order() {
    let found = detected("detect/jsonld-list.html", "https://harbour.example.org/notices/");
    assert_eq!(found.found, Found::JsonLd);
    assert_eq!(
        links(&found),
        [
            "https://harbour.example.org/notices/dredging-of-the-north-basin",
            "https://harbour.example.org/notices/new-ferry-timetable",
            "https://harbour.example.org/notices/pilot-boarding-area-moved",
        ]
    );
    assert_eq!(found.items[1].title.as_deref(), Some("New ferry timetable from May"));
    assert_eq!(found.items[1].date.as_deref(), Some("2024-04-02"));
}

#[test]
fn a_json_ld_graph_gives_its_posts_and_events_but_not_the_website() {
    let found = detected("detect/jsonld-graph.html", "https://cycling.example.net/");
    assert_eq!(titles(&found), ["Spring sportive route published", "Club night: wheel truing"]);
    assert_eq!(found.items[0].image.as_ref().map(Url::as_str), Some("https://cycling.example.net/img/route.jpg"));
    assert_eq!(found.items[1].date.as_deref(), Some("2024-03-14T19:00"));
    assert_eq!(found.items[1].location.as_deref(), Some("Old Mill, Ashford"));
}

#[test]
fn microdata_items_become_itemtype_selectors() {
    let page = "https://notes.example.org/";
    let found = detected("detect/microdata.html", page);
    assert_eq!(method(&found), Some(Method::Microdata));
    assert_eq!(found.items.len(), 3);
    assert_eq!(found.items[0].date.as_deref(), Some("2024-05-06"));
    assert!(found.items[2].summary.as_deref().is_some_and(|s| s.starts_with("Newts")));
    proposal_round_trips("detect/microdata.html", page, &found);
}

#[test]
fn h_entries_become_microformat_selectors() {
    let page = "https://press.example.org/notes/";
    let found = detected("detect/h-feed.html", page);
    assert_eq!(method(&found), Some(Method::Microformats));
    assert_eq!(titles(&found), ["Setting wood type by hand", "Mixing a warm grey", "The new old press arrives"]);
    assert_eq!(found.items[0].date.as_deref(), Some("2024-02-10T08:00:00Z"));
    proposal_round_trips("detect/h-feed.html", page, &found);
}

#[test]
fn drupal_views_rows_are_found_and_its_menus_and_pager_are_not() {
    let page = "https://water.example.gov/news";
    let found = detected("detect/drupal-views.html", page);
    assert_eq!(method(&found), Some(Method::Markup));
    assert_eq!(found.items.len(), 4);
    assert!(
        links(&found).iter().all(|link| link.starts_with("https://water.example.gov/news/")),
        "{:?}",
        links(&found)
    );
    assert_eq!(found.items[3].date.as_deref(), Some("1 February 2024"));
    proposal_round_trips("detect/drupal-views.html", page, &found);
}

#[test]
fn links_with_dates_beat_a_longer_menu_of_the_same_shape() {
    let page = "https://parish.example.org.uk/minutes";
    let found = detected("detect/links-with-dates.html", page);
    assert_eq!(found.items.len(), 5);
    assert!(links(&found).iter().all(|link| link.contains("/minutes/")), "{:?}", links(&found));
    let normalized = normalize(&found.items, "minutes", &url(page), chrono_tz::UTC);
    let first = normalized.items[0].published.expect("a date");
    assert_eq!(first.format("%Y-%m-%d").to_string(), "2024-03-14");
    proposal_round_trips("detect/links-with-dates.html", page, &found);
}

#[test]
fn a_navigation_heavy_page_gives_its_stories_not_its_menus_tags_share_links_or_pager() {
    let page = "https://allotment.example.com/";
    let found = detected("detect/nav-heavy.html", page);
    assert_eq!(
        titles(&found),
        ["Early blight warning for the south", "The great slug count, results", "Sowing late carrots to dodge the fly"]
    );
    assert!(found.items.iter().all(|item| item.summary.is_some() && item.date.is_some()));
    proposal_round_trips("detect/nav-heavy.html", page, &found);
}

#[test]
fn a_table_gives_its_rows_not_its_cells() {
    let page = "https://police-cyber.example.net/en/press/index.php";
    let found = detected("wild/news-table.html", page);
    assert!(links(&found).iter().all(|link| link.contains("news.php?id=")), "{:?}", links(&found));
    proposal_round_trips("wild/news-table.html", page, &found);
}

/// An item's link, title, day and place.
type Seen = (String, String, Option<String>, Option<String>);

/// The links, titles and dates of a source's items, read with its
/// hand-written selectors and by detection.
fn both_ways(config: &Config, id: &str) -> (Vec<Seen>, Vec<Seen>) {
    let source = config.source(id).expect("the source");
    let path = source.url.to_file_path().expect("a saved page");
    let html = octofeed::fetch::decode_html(&std::fs::read(&path).expect("the fixture"), None).into_owned();
    let (_, by_hand) = common::extract_source(config, id, &html);
    let detection = detect::detect(&html, source.home_page(), source.max_items_per_page);
    let detected = detection.items.unwrap_or_else(|error| panic!("{id}: {error}"));
    let by_detection = normalize(&detected.items, id, source.home_page(), source.timezone);
    let view = |items: &[octofeed::model::Item]| {
        items
            .iter()
            .map(|item| {
                let day = item.published.map(|date| date.date_naive().to_string());
                (item.link.clone(), item.title.clone(), day, item.location.clone())
            })
            .collect::<Vec<_>>()
    };
    (view(&by_hand.items), view(&by_detection.items))
}

/// Every html source of the offline demo: the coe.int pages (Liferay's Asset
/// Publisher in the custom Activities template and in its stock display, the
/// news list, numeric dates), a WordPress category page, a table of press
/// releases and a Latin-1 SPIP page.
#[test]
fn detection_on_every_coe_and_wild_fixture_finds_what_the_hand_written_selectors_find() {
    let config = offline_config();
    let listings: Vec<&str> = config
        .sources
        .iter()
        .filter(|source| matches!(source.kind, SourceKind::Html(_)))
        .map(|source| source.id.as_str())
        .filter(|id| *id != "octopus-resources") // a second list on the octopus page, read by its own rules
        .collect();
    assert!(listings.len() >= 8, "html sources: {listings:?}");
    for id in listings {
        let (by_hand, by_detection) = both_ways(&config, id);
        let links = |items: &[Seen]| items.iter().map(|i| i.0.clone()).collect::<Vec<_>>();
        assert_eq!(links(&by_detection), links(&by_hand), "{id}: other items");
        for (hand, found) in by_hand.iter().zip(&by_detection) {
            assert_eq!(found.2, hand.2, "{id}: {}: another date", hand.0);
            if found.3.is_some() {
                assert_eq!(found.3, hand.3, "{id}: {}: a place, and another one", hand.0);
            }
            assert!(
                found.1.contains(&hand.1) || hand.1.contains(&found.1),
                "{id}: {}: title {:?} vs {:?}",
                hand.0,
                found.1,
                hand.1
            );
        }
    }
}

#[test]
fn advertised_feeds_are_listed_with_liferay_rss_links() {
    let html = r#"<html><head>
        <link rel="alternate" type="application/rss+xml" title="News (RSS)" href="/news/rss.xml">
        <link rel="alternate" type="application/atom+xml" href="https://example.org/news/atom.xml">
        <link rel="alternate" hreflang="fr" href="/fr/">
        <link rel="stylesheet" type="application/rss+xml" href="/not-a-feed">
        </head><body>
        <a href="/en/web/cybercrime/news?p_p_id=101_INSTANCE_x&amp;p_p_lifecycle=2&amp;p_p_resource_id=getRSS">RSS</a>
        </body></html>"#;
    let detection = detect::detect(html, &url("https://example.org/news/"), 100);
    let feeds: Vec<(&str, &str)> = detection.feeds.iter().map(|feed| (feed.format, feed.url.as_str())).collect();
    assert_eq!(
        feeds,
        [
            ("rss", "https://example.org/news/rss.xml"),
            ("atom", "https://example.org/news/atom.xml"),
            (
                "unknown",
                "https://example.org/en/web/cybercrime/news?p_p_id=101_INSTANCE_x&p_p_lifecycle=2&p_p_resource_id=getRSS"
            ),
        ]
    );
    let error = detection.items.expect_err("no items on the page").to_string();
    assert!(error.contains("no list of items") && error.contains("3 feeds"), "{error}");
}

#[test]
fn interstitial_pages_are_named_by_detect_and_article() {
    let challenge = r#"<html><head><title>Just a moment...</title></head><body>
        <div id="cf-wrapper"><form id="challenge-form" action="/cdn-cgi/challenge"></form></div>
        <script src="/cdn-cgi/challenge-platform/orchestrate.js"></script></body></html>"#;
    let login = r#"<html><head><title>Sign in</title></head><body><h1>Members only</h1>
        <form action="/login"><input name="user"><input type="password" name="pass"><button>Sign in</button></form>
        <a href="/forgot">Forgot your password?</a> <a href="/join">Join</a></body></html>"#;
    let page = url("https://example.org/news");
    for (html, named) in [(challenge, "Cloudflare"), (login, "login")] {
        let error = detect::detect(html, &page, 100).items.expect_err("no items").to_string();
        assert!(error.contains(named), "detect: {error}");
        let error = octofeed::article::read(html, &page).expect_err("no article").to_string();
        assert!(error.contains(named), "article: {error}");
    }
}

#[test]
fn the_article_reader_gives_the_text_date_and_absolute_links_of_an_article_page() {
    let page = url("https://www.coe.int/en/web/cybercrime/-/octopus-conference-2023");
    let article = octofeed::article::read(&fixture_text("coe/article.html"), &page).expect("an article");
    assert!(!article.title.is_empty());
    assert!(article.text.split_whitespace().count() > 100, "{}", article.text);
    assert!(!article.text.contains("Share"), "share buttons are not the article: {}", article.text);
    assert!(!article.content_html.contains("<script"), "{}", article.content_html);
    assert!(!article.content_html.contains("href=\"/"), "links are absolute: {}", article.content_html);
    let date = article.date.as_deref().and_then(|text| octofeed::dates::parse_date(text, None, chrono_tz::UTC));
    assert!(date.is_some(), "a date: {:?}", article.date);
}

#[test]
fn every_fixture_and_hostile_shapes_give_an_answer_not_a_panic() {
    let page = url("https://example.org/list/");
    let mut fixtures = Vec::new();
    for folder in ["coe", "wild", "detect"] {
        for entry in std::fs::read_dir(common::fixture_path(folder)).expect("a fixture folder") {
            let path = entry.expect("an entry").path();
            if path.extension().is_some_and(|ext| ext == "html") {
                fixtures.push(path);
            }
        }
    }
    assert!(fixtures.len() > 15, "{fixtures:?}");
    for path in &fixtures {
        let html = octofeed::fetch::decode_html(&std::fs::read(path).expect("a fixture"), None).into_owned();
        let _ = detect::detect(&html, &page, 500);
        let _ = octofeed::article::read(&html, &page);
    }
    // The shapes of benches/discover.rs, smaller (this is a debug build).
    let nested = format!("<html><body>{}deep{}</body></html>", "<div>".repeat(100_000), "</div>".repeat(100_000));
    assert!(matches!(detect::detect(&nested, &page, 500).items, Err(detect::DetectError::NothingFound { .. })));
    let links: String =
        (0..20_000).map(|n| format!("<li><a href=\"/a/{n}\">Article number {n} of many</a></li>")).collect();
    let links = format!("<html><body><ul>{links}</ul></body></html>");
    assert_eq!(detect::detect(&links, &page, 500).items.expect("a list").items.len(), 500, "capped at max_items");
    let scripts: String = (0..5_000).map(|n| format!("<script>var x{n} = 1;</script>")).collect();
    let scripts = format!("<html><head>{scripts}</head><body></body></html>");
    let error = detect::detect(&scripts, &page, 500).items.expect_err("an app shell").to_string();
    assert!(error.contains("app shell"), "{error}");
    let text = format!("<html><body><p>{}</p></body></html>", "lorem ipsum dolor sit amet ".repeat(200_000));
    let article = octofeed::article::read(&text, &page).expect("a page of text is its own article");
    assert!(article.text.len() > 5_000_000);
}
