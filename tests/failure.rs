//! Last known good: a source that fails (network error, HTTP error, timeout,
//! a redesign) keeps its stored items and published files exactly as they
//! were, says why, makes the run exit 1, and the other sources go on.

mod store_kit;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use octofeed::config::Config;
use octofeed::model::StoredItem;
use octofeed::run::{RunOptions, RunReport, Status, run};
use octofeed::store::Store;
use octofeed::store::sqlite::SqliteStore;
use store_kit::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SELECTOR: &str = ".portlet-asset-publisher div:has(> h3 a[href*='/-/'])";

enum Breakage {
    ClosedPort,
    ServerError,
    Timeout,
    Redesign,
}

async fn run_at(config: &Path, now: DateTime<Utc>) -> RunReport {
    let config = Config::load(config).expect("a valid config");
    run(&config, &RunOptions { only: Vec::new(), now }, |_| {}).await.expect("a run")
}

async fn serve(server: &MockServer, fixture_name: &str, delay: Duration) {
    server.reset().await;
    let body = std::fs::read(fixture(fixture_name)).expect("a fixture");
    let response = ResponseTemplate::new(200)
        .insert_header("content-type", "text/html; charset=utf-8")
        .set_body_bytes(body)
        .set_delay(delay);
    Mock::given(method("GET")).and(path("/octopus")).respond_with(response).mount(server).await;
}

fn write_site(dir: &Path, octopus_url: &str) -> PathBuf {
    let sources =
        [octopus_source("octopus", octopus_url, "timeout = \"1s\""), octopus_source("steady", "file:steady.html", "")];
    write_config(dir, "", &sources)
}

fn stored(dir: &Path) -> Vec<StoredItem> {
    SqliteStore::open_read_only(&dir.join("data/octofeed.db"))
        .expect("the store")
        .items("octopus", None)
        .expect("items")
}

fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().expect("an address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}/octopus")
}

/// Run 1 succeeds; `breakage` then hits `octopus` in run 2 while `steady` gets a newer page.
async fn check_last_known_good(breakage: Breakage) {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let served_url = format!("{}/octopus", server.uri());
    let config = write_site(dir.path(), &served_url);
    serve(&server, JUNE, Duration::ZERO).await;
    serve_page(dir.path(), "steady.html", JUNE);
    let first = run_at(&config, clock(1, 8)).await;
    assert!(!first.any_failed(), "{first:?}");
    let (items_before, octopus_files) = (stored(dir.path()), files_under(&dir.path().join("public/octopus")));
    let steady_files = files_under(&dir.path().join("public/steady"));

    let failing_url = match breakage {
        Breakage::ClosedPort => closed_port_url(),
        _ => served_url,
    };
    write_site(dir.path(), &failing_url);
    match breakage {
        Breakage::ClosedPort => {}
        Breakage::ServerError => {
            server.reset().await;
            Mock::given(method("GET")).respond_with(ResponseTemplate::new(500)).mount(&server).await;
        }
        Breakage::Timeout => serve(&server, JUNE, Duration::from_secs(5)).await,
        Breakage::Redesign => serve(&server, REDESIGNED, Duration::ZERO).await,
    }
    serve_page(dir.path(), "steady.html", DECEMBER);
    let second = run_at(&config, clock(2, 8)).await;

    let (octopus, steady) = (&second.sources[0], &second.sources[1]);
    assert!(second.any_failed());
    assert_eq!(octopus.status, Status::Failed);
    let error = octopus.error.as_deref().expect("an error");
    assert!(error.contains(&failing_url), "the error names the URL: {error}");
    if matches!(breakage, Breakage::Redesign) {
        assert!(error.contains(SELECTOR) && error.contains("matched nothing"), "names the selector: {error}");
    }
    assert_eq!(stored(dir.path()), items_before, "stored items exactly as they were");
    assert_eq!(files_under(&dir.path().join("public/octopus")), octopus_files, "bytes, mtime, inode");
    let health = &octopus.health;
    assert_eq!((health.consecutive_failures, health.item_count), (1, 18));
    assert_eq!((health.last_success, health.last_error_at), (Some(clock(1, 8)), Some(clock(2, 8))));
    assert!(health.last_error.as_deref().is_some_and(|last| last.contains(&failing_url)), "{health:?}");

    assert_eq!((steady.status, steady.items_new), (Status::Ok, 8), "the other source refreshed");
    assert_ne!(files_under(&dir.path().join("public/steady")), steady_files, "and was published");
    assert_eq!(parse_feed(&dir.path().join("public/steady/atom.xml")).entries.len(), 26);
}

#[tokio::test]
async fn a_network_error_keeps_the_last_known_good_feed() {
    check_last_known_good(Breakage::ClosedPort).await;
}

#[tokio::test]
async fn an_http_500_keeps_the_last_known_good_feed() {
    check_last_known_good(Breakage::ServerError).await;
}

#[tokio::test]
async fn a_timeout_keeps_the_last_known_good_feed() {
    check_last_known_good(Breakage::Timeout).await;
}

#[tokio::test]
async fn a_redesign_keeps_the_last_known_good_feed_and_names_the_selector() {
    check_last_known_good(Breakage::Redesign).await;
}

#[test]
fn the_binary_exits_1_and_health_moves_across_failures_and_recovery() {
    let dir = tempfile::tempdir().expect("a temp dir");
    serve_page(dir.path(), "octopus.html", JUNE);
    serve_page(dir.path(), "steady.html", JUNE);
    let sources =
        [octopus_source("octopus", "file:octopus.html", ""), octopus_source("steady", "file:steady.html", "")];
    let config = write_config(dir.path(), "", &sources);
    let (code, _) = run_json(&config, clock(1, 8));
    assert_eq!(code, 0);

    serve_page(dir.path(), "octopus.html", REDESIGNED);
    let output = octofeed(&config, clock(2, 8), &["run"]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let failed_line = stdout.lines().find(|line| line.starts_with("failed")).expect("a failed line");
    assert!(failed_line.contains("octopus") && failed_line.contains(SELECTOR), "{failed_line}");
    assert!(failed_line.contains("https://www.coe.int/en/web/cybercrime/octopus-project"), "{failed_line}");
    assert!(stdout.lines().any(|line| line.starts_with("unchanged") && line.contains("steady")), "{stdout}");

    let (code, report) = run_json(&config, clock(3, 8));
    let health = &source_report(&report, "octopus")["health"];
    assert_eq!((code, health["consecutive_failures"].as_u64(), health["item_count"].as_u64()), (1, Some(2), Some(18)));
    assert_eq!(health["last_success"], "2023-01-01T08:00:00Z");
    assert_eq!(health["last_error_at"], "2023-01-03T08:00:00Z");
    assert_eq!(source_report(&report, "steady")["health"]["consecutive_failures"], 0);

    serve_page(dir.path(), "octopus.html", DECEMBER);
    let (code, report) = run_json(&config, clock(4, 8));
    let octopus = source_report(&report, "octopus");
    assert_eq!((code, octopus["status"].as_str(), octopus["items_new"].as_u64()), (0, Some("ok"), Some(8)));
    let health = &octopus["health"];
    assert_eq!((health["consecutive_failures"].as_u64(), health["item_count"].as_u64()), (Some(0), Some(26)));
    assert_eq!(health["last_success"], "2023-01-04T08:00:00Z");
    assert_eq!(health["last_error_at"], "2023-01-03T08:00:00Z", "the last error stays on record");
}
