//! `octofeed detect`, `add` and `article` as a user runs them, and the
//! sources they propose at work: `select = "auto"` over several runs (stable
//! guids, a warning when detection changes its choice, a failure that keeps
//! the last good feeds) and `[source.detail]` fields set to `"auto"`.
//!
//! Pages are fixtures or served by a local mock server; no network.

mod common;
mod fetch_kit;

use std::process::{Command, Output};

use fetch_kit::{Site, failure, report, site_table};
use octofeed::run::Status;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn octofeed(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_octofeed")).args(args).output().expect("the binary runs")
}

fn stdout_json(output: &Output) -> serde_json::Value {
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("not JSON ({error}): {}", String::from_utf8_lossy(&output.stdout)))
}

fn fixture(name: &str) -> String {
    common::fixture_path(name).display().to_string()
}

async fn serve(server: &MockServer, route: &str, body: String, content_type: &str) {
    let response = ResponseTemplate::new(200).set_body_raw(body.into_bytes(), content_type);
    Mock::given(path(route)).respond_with(response).mount(server).await;
}

#[test]
fn detect_json_gives_the_feeds_the_source_and_its_items() {
    let base = "https://water.example.gov/news";
    let out = stdout_json(&octofeed(&[
        "detect",
        "--offline",
        "--json",
        "-c",
        "/nonexistent/octofeed.toml",
        "--base",
        base,
        &fixture("detect/drupal-views.html"),
    ]));
    assert_eq!(out["feeds"], serde_json::json!([]));
    assert_eq!(out["source"]["page_url"], base);
    assert_eq!(out["source"]["select"]["item"], "div.view-content > div.views-row");
    let items = out["items"].as_array().expect("items");
    assert_eq!(items.len(), 4);
    assert_eq!(items[0]["title"], "Boil water notice lifted in East Ward");
    assert_eq!(items[0]["link"], "https://water.example.gov/news/boil-water-notice-lifted-in-east-ward");
    assert!(items[0]["date"].as_str().is_some_and(|date| date.starts_with("2024-03-12")), "{}", items[0]);
    for key in ["summary", "image"] {
        assert!(items[0].get(key).is_some(), "{key} missing");
    }
}

#[test]
fn detect_prints_a_source_that_check_accepts() {
    let base = "https://allotment.example.com/";
    let output = octofeed(&[
        "detect",
        "--offline",
        "-c",
        "/nonexistent/octofeed.toml",
        "--base",
        base,
        &fixture("detect/nav-heavy.html"),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout);
    let lines = text.lines().skip_while(|line| *line != "[[source]]").take_while(|line| !line.is_empty());
    let source = lines.collect::<Vec<_>>().join("\n");
    assert!(source.starts_with("[[source]]") && source.contains("item = \"div.content > div.story\""), "{text}");
    let dir = tempfile::tempdir().expect("a folder");
    let config = dir.path().join("octofeed.toml");
    std::fs::write(&config, format!("[site]\ntitle = \"t\"\n{source}\n")).expect("a config");
    let check = octofeed(&["check", "-c", config.to_str().expect("utf-8")]);
    assert_eq!(check.status.code(), Some(0), "{}\n{source}", String::from_utf8_lossy(&check.stderr));
    assert!(text.contains("Early blight warning for the south"), "the items follow the source: {text}");
}

#[test]
fn detect_names_an_interstitial_and_exits_1() {
    let dir = tempfile::tempdir().expect("a folder");
    let page = dir.path().join("challenge.html");
    std::fs::write(
        &page,
        r#"<html><head><title>Just a moment...</title></head><body><div id="cf-wrapper">
           <form id="challenge-form"></form></div></body></html>"#,
    )
    .expect("a page");
    let output = octofeed(&["detect", "--offline", "-c", "/nonexistent/octofeed.toml", page.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Cloudflare bot challenge"), "{stderr}");
}

#[tokio::test]
async fn detect_online_checks_the_advertised_feeds_and_proposes_the_first_that_reads() {
    let server = MockServer::start().await;
    let page = format!(
        r#"<html><head><title>Harbour news</title>
           <link rel="alternate" type="application/atom+xml" href="/missing.xml">
           <link rel="alternate" type="application/rss+xml" href="/news.rss"></head>
           <body>{}</body></html>"#,
        (1..=3)
            .map(|n| format!(
                "<div class=\"post\"><h2><a href=\"/p/{n}\">Post number {n} of the harbour</a></h2></div>"
            ))
            .collect::<String>()
    );
    serve(&server, "/news", page, "text/html").await;
    let rss = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour</title><link>https://h.example/</link>
        <description>d</description><item><title>Ferry strike called off</title><link>https://h.example/p/9</link></item></channel></rss>"#;
    serve(&server, "/news.rss", rss.to_string(), "application/rss+xml").await;
    let url = format!("{}/news", server.uri());
    let binary = env!("CARGO_BIN_EXE_octofeed").to_string();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(binary).args(["detect", "--json", "-c", "/nonexistent/octofeed.toml", &url]).output()
    })
    .await
    .expect("joined")
    .expect("runs");
    let out = stdout_json(&output);
    assert_eq!(out["feeds"].as_array().expect("feeds").len(), 2);
    assert_eq!(out["source"]["kind"], "feed");
    assert_eq!(out["source"]["url"], format!("{}/news.rss", server.uri()));
    assert_eq!(out["items"][0]["title"], "Ferry strike called off");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("missing.xml"), "the feed that failed is named: {stderr}");
}

#[test]
fn add_write_appends_a_source_with_a_free_id_that_preview_reads() {
    let dir = tempfile::tempdir().expect("a folder");
    let config = dir.path().join("octofeed.toml");
    let original = "[site]\ntitle = \"t\"\n\n[[source]]\nid = \"parish-council-minutes\"\nurl = \"https://example.org/\"\nkind = \"feed\"\n";
    std::fs::write(&config, original).expect("a config");
    let config_arg = config.to_str().expect("utf-8");
    let page = fixture("detect/links-with-dates.html");
    let base = "https://parish.example.org.uk/minutes";
    let output = octofeed(&["add", "--offline", "--write", "-c", config_arg, "--base", base, &page]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let written = std::fs::read_to_string(&config).expect("the config");
    assert!(written.starts_with(original), "the config is appended to, not rewritten");
    assert!(written.contains("id = \"parish-council-minutes-2\""), "{written}");
    assert!(written.contains(&format!("page_url = \"{base}\"")), "{written}");
    let preview = octofeed(&["preview", "-c", config_arg, "parish-council-minutes-2", "--json"]);
    let items = stdout_json(&preview);
    assert_eq!(items.as_array().expect("items").len(), 5);
    assert_eq!(items[0]["link"], "https://parish.example.org.uk/minutes/2024-03-full-council.pdf");
}

#[test]
fn add_without_write_prints_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("a folder");
    let config = dir.path().join("octofeed.toml");
    std::fs::write(
        &config,
        "[site]\ntitle = \"t\"\n[[source]]\nid = \"a\"\nurl = \"https://example.org/\"\nkind = \"feed\"\n",
    )
    .expect("a config");
    let before = std::fs::read(&config).expect("config");
    let config_arg = config.to_str().expect("utf-8");
    let base = "https://allotment.example.com/";
    let page = fixture("detect/nav-heavy.html");
    let output = octofeed(&["add", "--offline", "--id", "stories", "-c", config_arg, "--base", base, &page]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("id = \"stories\""));
    assert_eq!(std::fs::read(&config).expect("config"), before);
}

#[test]
fn article_json_gives_title_date_and_text() {
    let out = stdout_json(&octofeed(&[
        "article",
        "--offline",
        "--json",
        "-c",
        "/nonexistent/octofeed.toml",
        "--base",
        "https://www.coe.int/en/web/cybercrime/-/article",
        &fixture("coe/article.html"),
    ]));
    for key in ["title", "content_html", "text", "date", "published", "author", "image", "excerpt"] {
        assert!(out.get(key).is_some(), "{key} missing: {out}");
    }
    assert!(out["text"].as_str().is_some_and(|text| text.contains("Octopus Project")), "{out}");
    assert!(out["published"].as_str().is_some(), "{out}");
}

/// A saved listing page in a folder of its own, read by a `select = "auto"` source.
struct AutoSite {
    page: std::path::PathBuf,
    site: Site,
}

impl AutoSite {
    fn new(html: &str, extra: &str) -> (tempfile::TempDir, AutoSite) {
        let folder = tempfile::tempdir().expect("a folder");
        let page = folder.path().join("news.html");
        std::fs::write(&page, html).expect("a page");
        let toml = format!(
            "{}[[source]]\nid = \"water\"\nurl = \"file:{}\"\npage_url = \"https://water.example.gov/news\"\nselect = \"auto\"\n{extra}",
            site_table(""),
            page.display()
        );
        (folder, AutoSite { page, site: Site::new(&toml) })
    }

    fn guids(&self) -> Vec<String> {
        let feed = self.site.json_feed("water");
        feed["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|item| item["id"].as_str().expect("id").to_string())
            .collect()
    }
}

/// The Drupal fixture's four rows written as a plain list: the same items, other markup.
fn redesigned() -> String {
    let rows = [
        ("boil-water-notice-lifted-in-east-ward", "Boil water notice lifted in East Ward", "12 March 2024"),
        ("main-replacement-on-station-road", "Main replacement on Station Road", "4 March 2024"),
        ("reservoir-levels-back-to-normal", "Reservoir levels back to normal", "20 February 2024"),
        ("new-tariffs-from-april", "New tariffs from April", "1 February 2024"),
    ];
    let items: String = rows
        .iter()
        .map(|(slug, title, date)| {
            format!(
                "<li class=\"story\"><h3><a href=\"/news/{slug}\">{title}</a></h3><p class=\"when\">{date}</p></li>"
            )
        })
        .collect();
    format!("<html><head><title>News</title></head><body><ul class=\"stories\">{items}</ul></body></html>")
}

#[tokio::test]
async fn select_auto_keeps_guids_warns_when_its_choice_changes_and_fails_loudly_on_nothing() {
    let (_folder, auto) = AutoSite::new(&common::fixture_text("detect/drupal-views.html"), "");
    let first = auto.site.run_at(common::fixed_now()).await;
    assert_eq!(report(&first, "water").status, Status::Ok, "{:?}", report(&first, "water"));
    assert_eq!(report(&first, "water").items_new, 4);
    let guids = auto.guids();
    assert_eq!(guids.len(), 4);

    std::fs::write(&auto.page, redesigned()).expect("the page redesigned");
    let second = auto.site.run_at(common::fixed_now()).await;
    let water = report(&second, "water");
    assert_eq!(water.status, Status::Ok, "{water:?}");
    assert_eq!(water.items_new, 0, "the same items under new markup are not new");
    let warning = water.warnings.iter().find(|w| w.contains("detection chose other selectors")).expect("a warning");
    assert!(warning.contains("div.views-row") && warning.contains("li.story"), "old and new are named: {warning}");
    assert_eq!(auto.guids(), guids);

    let third = auto.site.run_at(common::fixed_now()).await;
    assert!(report(&third, "water").warnings.iter().all(|w| !w.contains("detection chose")), "warned once");

    let feed_before = auto.site.published("water/rss.xml");
    std::fs::write(&auto.page, "<html><body><p>We are moving to a new site.</p></body></html>").expect("a page");
    let fourth = auto.site.run_at(common::fixed_now()).await;
    let error = failure(&fourth, "water");
    assert!(error.contains("automatic detection found no list of items"), "{error}");
    assert_eq!(auto.site.published("water/rss.xml"), feed_before, "the last good feed is kept");
}

#[tokio::test]
async fn detail_auto_fields_take_the_article_readers_text_and_date() {
    let server = MockServer::start().await;
    let listing = format!(
        "<html><body><ul><li class=\"news\"><h3><a href=\"{0}/en/web/cybercrime/-/nl\">The Netherlands contributes</a></h3></li>\
         <li class=\"news\"><h3><a href=\"{0}/en/web/cybercrime/-/pacific\">Pacific workshop</a></h3></li></ul></body></html>",
        server.uri()
    );
    serve(&server, "/news", listing, "text/html").await;
    serve(&server, "/en/web/cybercrime/-/nl", common::fixture_text("coe/article.html"), "text/html").await;
    serve(&server, "/en/web/cybercrime/-/pacific", common::fixture_text("coe/article-2.html"), "text/html").await;
    let toml = format!(
        "{}[[source]]\nid = \"coe\"\nurl = \"{}/news\"\nrobots = false\n\
         [source.select]\nitem = \"li.news\"\ntitle = \"h3\"\nlink = \"h3 a\"\n\
         [source.detail]\ncontent = \"auto\"\ndate = \"auto\"\n",
        site_table("allow_private = true"),
        server.uri()
    );
    let site = Site::new(&toml);
    let run = site.run_at(common::fixed_now()).await;
    assert_eq!(report(&run, "coe").status, Status::Ok, "{:?}", report(&run, "coe"));
    let feed = site.json_feed("coe");
    let items = feed["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    for item in items {
        let content = item["content_html"].as_str().unwrap_or_default();
        assert!(content.len() > 500, "the article's text: {item}");
        assert!(!content.contains("<script"), "{content}");
        assert!(item["date_published"].as_str().is_some_and(|date| date < "2025"), "the article's date: {item}");
    }
    let mut titles: Vec<&str> = items.iter().map(|item| item["title"].as_str().expect("a title")).collect();
    titles.sort_unstable();
    assert_eq!(titles, ["Pacific workshop", "The Netherlands contributes"], "the listing's titles stay");
}

#[test]
fn auto_is_refused_where_it_means_nothing() {
    let dir = tempfile::tempdir().expect("a folder");
    let config = dir.path().join("octofeed.toml");
    for (table, expected) in [
        ("select = \"automatic\"\n", "must be a table of selectors or \"auto\""),
        ("[source.select]\nitem = \"li\"\ntitle = \"auto\"\nlink = \"a\"\n", "only `[source.detail]` fields can"),
    ] {
        std::fs::write(
            &config,
            format!("[site]\ntitle = \"t\"\n[[source]]\nid = \"a\"\nurl = \"https://example.org/\"\n{table}"),
        )
        .expect("a config");
        let check = octofeed(&["check", "-c", config.to_str().expect("utf-8")]);
        assert_eq!(check.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&check.stderr);
        assert!(stderr.contains(expected) && stderr.contains("octofeed.toml:"), "{stderr}");
    }
}
