//! Whole runs over fixtures served by a local mock server (wiremock): the same
//! feeds as from `file:` sources, the charset of the `Content-Type` header, and
//! a failing source that leaves its published feeds alone.
//!
//! Only 127.0.0.1: no test here touches the internet.

mod common;

use std::path::Path;

use octofeed::config::Config;
use octofeed::run::Status;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use common::{files_under, fixture_bytes, fixture_url, parse_feed, run_once};

const OCTOPUS_PATH: &str = "/en/web/cybercrime/octopus-project";
const LATIN1_PATH: &str = "/spip.php";

async fn serve(server: &MockServer, at: &str, body: Vec<u8>, content_type: &str) {
    let response = ResponseTemplate::new(200).set_body_raw(body, content_type);
    Mock::given(method("GET")).and(path(at)).respond_with(response).mount(server).await;
}

/// A config with the octopus source read from `octopus_url` (its links resolving
/// against the real page) and the French page read from `latin1_url`.
fn config(dir: &Path, octopus_url: &str, latin1_url: &str) -> Config {
    let text = format!(
        r#"
[site]
title = "Mock"
base_url = "https://feeds.example.org/"
output_dir = "public"
store = "data/octofeed.db"
host_delay = "0s"
retries = 0

[defaults]
timezone = "Europe/Paris"
language = "en"

[[source]]
id = "octopus"
title = "Octopus Project: activities"
url = "{octopus_url}"
page_url = "https://www.coe.int/en/web/cybercrime/octopus-project"

[source.select]
item = ".portlet-asset-publisher div:has(> h3 a[href*='/-/'])"
title = "h3"
link = "a[href*='/-/']"
date = {{ css = "h3 + *", regex = '^(?:\p{{L}}+\s+)?(\d{{1,2}}(?:\s+\p{{L}}+)?(?:\s*[-–]\s*\d{{1,2}})?\s+\p{{L}}+\s+\d{{4}})' }}
summary = "h3 ~ :nth-last-child(2)"

[[source]]
id = "latin1-fr"
url = "{latin1_url}"
language = "fr"

[source.select]
item = "ul.liste-items > li"
title = "h3"
link = "h3 a"
date = ".info-publi abbr"
"#
    );
    Config::parse(&dir.join("octofeed.toml"), &text).unwrap_or_else(|errors| panic!("invalid config: {errors}"))
}

/// The latin1 page without its `<meta>` charset: only the HTTP header says how to read it.
fn latin1_without_meta() -> Vec<u8> {
    let bytes = fixture_bytes("wild/latin1-fr.html");
    let text = String::from_utf8_lossy(&bytes);
    let meta = text.find("<meta http-equiv=\"Content-Type\"").expect("the meta charset");
    let end = meta + text[meta..].find('>').expect("end of meta") + 1;
    [&bytes[..meta], &bytes[end..]].concat()
}

#[tokio::test]
async fn a_mock_server_gives_the_same_feeds_as_file_sources() {
    let server = MockServer::start().await;
    serve(&server, OCTOPUS_PATH, fixture_bytes("coe/octopus-2022-12.html"), "text/html; charset=utf-8").await;
    serve(&server, LATIN1_PATH, latin1_without_meta(), "text/html; charset=iso-8859-1").await;
    let (served, saved) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    let latin1 = format!("{}{LATIN1_PATH}?rubrique12", server.uri());
    let over_http = config(served.path(), &format!("{}{OCTOPUS_PATH}", server.uri()), &latin1);
    let report = run_once(&over_http).await;
    assert!(report.sources.iter().all(|source| source.status == Status::Ok), "{:?}", report.sources);
    assert_eq!((report.sources[0].items_seen, report.sources[1].items_seen), (22, 12));
    let from_files = config(saved.path(), fixture_url("coe/octopus-2022-12.html").as_str(), &latin1);
    run_once(&from_files).await;
    for format in ["rss.xml", "atom.xml", "feed.json"] {
        let read = |dir: &Path| std::fs::read(dir.join("public/octopus").join(format)).expect("published");
        assert!(read(served.path()) == read(saved.path()), "octopus/{format}: http and file: differ");
    }
    let feed = parse_feed(&served.path().join("public/latin1-fr/atom.xml"));
    assert_eq!(feed.entries.len(), 12);
    let titles: Vec<String> =
        feed.entries.iter().filter_map(|entry| entry.title.as_ref()).map(|t| t.content.clone()).collect();
    assert!(titles.contains(&"Rapport annuel : la cybercriminalité en hausse de 8 %".to_string()), "{titles:?}");
    assert!(titles.iter().all(|title| !title.contains('\u{fffd}') && !title.contains('Ã')), "{titles:?}");
    let first_link =
        &feed.entries.iter().find(|entry| entry.id.ends_with("article1287")).expect("article1287").links[0];
    assert_eq!(first_link.href, format!("{}/spip.php?article1287", server.uri()), "resolved against the fetched URL");
}

#[tokio::test]
async fn failed_sources_leave_their_published_feeds_untouched() {
    let server = MockServer::start().await;
    serve(&server, OCTOPUS_PATH, fixture_bytes("coe/octopus-2022-12.html"), "text/html; charset=utf-8").await;
    serve(&server, LATIN1_PATH, fixture_bytes("wild/latin1-fr.html"), "text/html").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config =
        config(dir.path(), &format!("{}{OCTOPUS_PATH}", server.uri()), &format!("{}{LATIN1_PATH}", server.uri()));
    run_once(&config).await;
    let public = dir.path().join("public");
    let before: Vec<_> =
        files_under(&public).into_iter().map(|name| std::fs::read(public.join(&name)).expect("read")).collect();
    server.reset().await;
    serve(&server, OCTOPUS_PATH, fixture_bytes("wild/redesigned.html"), "text/html; charset=utf-8").await;
    let report = run_once(&config).await;
    assert!(report.any_failed());
    let octopus = &report.sources[0];
    assert_eq!(octopus.status, Status::Failed);
    let error = octopus.error.as_deref().unwrap_or_default();
    assert!(error.contains("octopus") && error.contains(".portlet-asset-publisher"), "{error}");
    assert_eq!(report.sources[1].status, Status::Failed, "latin1 page gone after reset: HTTP 404");
    let after: Vec<_> =
        files_under(&public).into_iter().map(|name| std::fs::read(public.join(&name)).expect("read")).collect();
    assert!(before == after, "failed sources keep their published files byte for byte");
    assert_eq!(report.files_written, 0);
}
