//! Conditional refresh against a local server: validators stored and sent
//! back, a 304 or an identical body is `unchanged`, skips extraction and
//! rewrites no file.

mod store_kit;

use std::path::Path;

use chrono::{DateTime, Utc};
use octofeed::config::Config;
use octofeed::run::{RunOptions, RunReport, Status, run};
use octofeed::store::Store;
use octofeed::store::sqlite::SqliteStore;
use store_kit::*;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ETAG: &str = "\"june-v1\"";
const LAST_MODIFIED: &str = "Wed, 01 Jun 2022 10:00:00 GMT";

fn page(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).expect("a fixture")
}

async fn run_at(config: &Path, now: DateTime<Utc>) -> RunReport {
    let config = Config::load(config).expect("a valid config");
    run(&config, &RunOptions { only: Vec::new(), now }, |_| {}).await.expect("a run")
}

/// A mock that serves the June page with validators, and a config reading it.
async fn served_site() -> (MockServer, tempfile::TempDir, std::path::PathBuf) {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let url = format!("{}/octopus", server.uri());
    let config = write_config(dir.path(), "", &[octopus_source("octopus", &url, "")]);
    Mock::given(method("GET"))
        .and(path("/octopus"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/html; charset=utf-8")
                .insert_header("etag", ETAG)
                .insert_header("last-modified", LAST_MODIFIED)
                .set_body_bytes(page(JUNE)),
        )
        .mount(&server)
        .await;
    (server, dir, config)
}

#[tokio::test]
async fn validators_are_stored_and_a_304_rewrites_nothing() {
    let (server, dir, config) = served_site().await;
    let first = run_at(&config, clock(1, 8)).await;
    assert_eq!((first.sources[0].status, first.sources[0].items_new), (Status::Ok, 18));
    let state =
        SqliteStore::open_read_only(&dir.path().join("data/octofeed.db")).expect("store").fetch_state("octopus");
    let state = state.expect("a fetch state");
    assert_eq!((state.etag.as_deref(), state.last_modified.as_deref()), (Some(ETAG), Some(LAST_MODIFIED)));
    let published = files_under(&dir.path().join("public"));

    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/octopus"))
        .and(header("if-none-match", ETAG))
        .respond_with(ResponseTemplate::new(304))
        .expect(1)
        .mount(&server)
        .await;
    let second = run_at(&config, clock(2, 8)).await;
    assert_eq!(second.sources[0].status, Status::Unchanged, "{:?}", second.sources[0]);
    assert_eq!((second.sources[0].items_seen, second.files_written), (0, 0), "no extraction, no file");
    assert_eq!(second.sources[0].health.last_success, Some(clock(2, 8)));
    assert_eq!(files_under(&dir.path().join("public")), published, "bytes, mtimes and inodes unchanged");
    server.verify().await;
    // wiremock's `header` matcher splits values at commas, so the date is checked here.
    assert_sent_validators(&server).await;
}

async fn assert_sent_validators(server: &MockServer) {
    let requests = server.received_requests().await.expect("recorded requests");
    let last = requests.last().expect("a request");
    assert_eq!(last.headers.get("if-none-match").map(|value| value.as_bytes()), Some(ETAG.as_bytes()));
    assert_eq!(last.headers.get("if-modified-since").map(|value| value.as_bytes()), Some(LAST_MODIFIED.as_bytes()));
}

#[tokio::test]
async fn a_200_with_the_same_body_is_unchanged_and_rewrites_nothing() {
    let (server, dir, config) = served_site().await;
    run_at(&config, clock(1, 8)).await;
    let published = files_under(&dir.path().join("public"));
    // Same bytes again, with validators the server does not honour.
    let second = run_at(&config, clock(2, 8)).await;
    assert_eq!(second.sources[0].status, Status::Unchanged, "{:?}", second.sources[0]);
    assert_eq!((second.sources[0].items_seen, second.files_written), (0, 0), "no extraction, no file");
    assert_eq!(files_under(&dir.path().join("public")), published, "bytes, mtimes and inodes unchanged");
    assert_sent_validators(&server).await;
}

#[tokio::test]
async fn published_files_rebuilt_from_the_store_are_byte_identical() {
    // Output depends on stored items only, never on the run's clock: feeds
    // rebuilt by a later run over the same page are byte-identical.
    let (_server, dir, config) = served_site().await;
    run_at(&config, clock(1, 8)).await;
    let before = files_under(&dir.path().join("public"));
    std::fs::remove_dir_all(dir.path().join("public")).expect("output removed");
    let again = run_at(&config, clock(5, 8)).await;
    assert_eq!(again.sources[0].status, Status::Unchanged);
    assert!(again.files_written > 0, "missing files are published again");
    let after = files_under(&dir.path().join("public"));
    let bytes = |files: &std::collections::BTreeMap<std::path::PathBuf, FileState>| {
        files.iter().map(|(path, state)| (path.clone(), state.bytes.clone())).collect::<Vec<_>>()
    };
    assert_eq!(bytes(&after), bytes(&before), "byte-identical files");
}
