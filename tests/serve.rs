//! `octofeed serve`: the published files over HTTP the way feed readers like
//! them (types, validators, 304s, gzip), health and metrics, clean shutdown.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use octofeed::config::Config;
use octofeed::run::Runner;
use octofeed::serve::{ServeState, serve};
use reqwest::StatusCode;
use reqwest::header::{
    ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

fn fixture(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(path).display().to_string()
}

/// A config in `dir` reading two saved coe.int pages.
fn write_config(dir: &Path) -> PathBuf {
    let text = format!(
        r#"[site]
title = "Serve test"
base_url = "http://localhost:8080/"
output_dir = "public"
store = "octofeed.db"

[[source]]
id = "octopus"
title = "Octopus"
url = "file://{octopus}"
page_url = "https://www.coe.int/en/web/cybercrime/octopus-project"
interval = "1d"
[source.select]
item = "div.asset-abstract"
title = "h3.asset-title"
link = "h3.asset-title a"
summary = ".asset-summary"

[[channel]]
id = "all"
title = "All"
sources = ["octopus"]
"#,
        octopus = fixture("coe/liferay-default.html"),
    );
    let path = dir.join("octofeed.toml");
    std::fs::write(&path, text).unwrap();
    path
}

struct Server {
    base: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    runner: Arc<Runner>,
    _dir: tempfile::TempDir,
}

async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::load(&write_config(dir.path())).unwrap();
    let runner = Arc::new(Runner::open(&config).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let state = ServeState::new(config, Arc::clone(&runner));
    let task = tokio::spawn(serve(listener, state, async {
        let _ = stopped.await;
    }));
    let server = Server { base, stop: Some(stop), task, runner, _dir: dir };
    wait_for_first_publication(&server).await;
    server
}

/// The scheduler refreshes every source at start; wait until the feed is there.
async fn wait_for_first_publication(server: &Server) {
    for _ in 0..200 {
        if let Ok(response) = reqwest::get(format!("{}/octopus/rss.xml", server.base)).await
            && response.status() == StatusCode::OK
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the feed was never published");
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_gzip().build().unwrap()
}

#[tokio::test]
async fn feeds_are_served_with_their_type_and_validators() {
    let server = start().await;
    for (path, expected) in [
        ("/octopus/rss.xml", "application/rss+xml; charset=utf-8"),
        ("/octopus/atom.xml", "application/atom+xml; charset=utf-8"),
        ("/all/feed.json", "application/feed+json; charset=utf-8"),
        ("/octopus/new.xml", "application/rss+xml; charset=utf-8"),
        ("/all/new.xml", "application/rss+xml; charset=utf-8"),
        ("/feeds.opml", "text/x-opml; charset=utf-8"),
        ("/index.html", "text/html; charset=utf-8"),
        ("/", "text/html; charset=utf-8"),
    ] {
        let response = client().get(format!("{}{path}", server.base)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()[CONTENT_TYPE], expected, "{path}");
        assert!(response.headers().contains_key(ETAG), "{path}");
        assert!(response.headers().contains_key(LAST_MODIFIED), "{path}");
    }
    let body = client().get(format!("{}/octopus/rss.xml", server.base)).send().await.unwrap().bytes().await.unwrap();
    let feed = feed_rs::parser::parse(&body[..]).unwrap();
    assert_eq!(feed.entries.len(), 12);
    stop(server).await;
}

#[tokio::test]
async fn cache_control_max_age_matches_the_feeds_ttl() {
    let server = start().await;
    let response = client().get(format!("{}/octopus/rss.xml", server.base)).send().await.unwrap();
    assert_eq!(response.headers()[reqwest::header::CACHE_CONTROL], "public, max-age=86400");
    let body = response.text().await.unwrap();
    assert!(body.contains("<ttl>1440</ttl>"), "the source's interval of a day is 1440 minutes");
    let index = client().get(format!("{}/index.html", server.base)).send().await.unwrap();
    assert_eq!(index.headers()[reqwest::header::CACHE_CONTROL], "public, max-age=86400");
    stop(server).await;
}

#[tokio::test]
async fn matching_validators_get_304_and_stale_ones_get_the_file() {
    let server = start().await;
    let url = format!("{}/octopus/atom.xml", server.base);
    let first = client().get(&url).send().await.unwrap();
    let etag = first.headers()[ETAG].to_str().unwrap().to_string();
    let modified = first.headers()[LAST_MODIFIED].to_str().unwrap().to_string();

    let by_etag = client().get(&url).header(IF_NONE_MATCH, &etag).send().await.unwrap();
    assert_eq!(by_etag.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(by_etag.headers()[ETAG], etag.as_str());
    assert!(by_etag.bytes().await.unwrap().is_empty());

    let by_date = client().get(&url).header(IF_MODIFIED_SINCE, &modified).send().await.unwrap();
    assert_eq!(by_date.status(), StatusCode::NOT_MODIFIED);

    let stale = client().get(&url).header(IF_NONE_MATCH, "\"something-else\"").send().await.unwrap();
    assert_eq!(stale.status(), StatusCode::OK);
    let old_date = client().get(&url).header(IF_MODIFIED_SINCE, "Thu, 01 Jan 2015 00:00:00 GMT").send().await.unwrap();
    assert_eq!(old_date.status(), StatusCode::OK);
    stop(server).await;
}

#[tokio::test]
async fn responses_are_gzipped_for_clients_that_accept_it() {
    let server = start().await;
    let url = format!("{}/octopus/rss.xml", server.base);
    let plain = client().get(&url).send().await.unwrap().bytes().await.unwrap();
    let gzipped = client().get(&url).header(ACCEPT_ENCODING, "gzip").send().await.unwrap();
    assert_eq!(gzipped.headers()[CONTENT_ENCODING], "gzip");
    let compressed = gzipped.bytes().await.unwrap();
    let mut inflated = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&compressed[..]), &mut inflated).unwrap();
    assert_eq!(inflated, plain);
    assert!(compressed.len() < plain.len());
    stop(server).await;
}

#[tokio::test]
async fn only_published_files_are_served() {
    let server = start().await;
    for path in [
        "/unknown/rss.xml",
        "/octopus/secret.txt",
        "/octofeed.db",
        "/..%2Foctofeed.toml",
        "/octopus/..%2F..%2Fetc%2Fpasswd",
    ] {
        let response = client().get(format!("{}{path}", server.base)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    stop(server).await;
}

#[tokio::test]
async fn healthz_and_metrics_report_each_source() {
    let server = start().await;
    let health = reqwest::get(format!("{}/healthz", server.base)).await.unwrap().text().await.unwrap();
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    let octopus = &health["sources"][0];
    assert_eq!(octopus["id"], "octopus");
    assert_eq!(octopus["item_count"], 12);
    assert_eq!(octopus["consecutive_failures"], 0);
    assert!(octopus["last_success"].is_string());
    let metrics = reqwest::get(format!("{}/metrics", server.base)).await.unwrap();
    assert!(metrics.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = metrics.text().await.unwrap();
    assert!(text.contains("# TYPE octofeed_source_items gauge"), "{text}");
    assert!(text.contains("octofeed_source_items{source=\"octopus\"} 12"), "{text}");
    stop(server).await;
}

#[tokio::test]
async fn health_and_metrics_answer_while_a_publish_holds_the_store() {
    let server = start().await;
    let runner = Arc::clone(&server.runner);
    let (held, holding) = oneshot::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let _writing = runner.store();
        let _ = held.send(());
        let _ = released.recv_timeout(std::time::Duration::from_secs(10));
    });
    holding.await.unwrap();
    let ask = |path: &'static str| reqwest::get(format!("{}{path}", server.base));
    let both = async { (ask("/healthz").await, ask("/metrics").await) };
    let answers = tokio::time::timeout(std::time::Duration::from_secs(5), both).await;
    release.send(()).unwrap();
    holder.join().unwrap();
    let (health, metrics) = answers.expect("answered while the store was held");
    assert_eq!(health.unwrap().status(), StatusCode::OK);
    assert_eq!(metrics.unwrap().status(), StatusCode::OK);
    stop(server).await;
}

async fn stop(mut server: Server) {
    server.stop.take().unwrap().send(()).unwrap();
    server.task.await.unwrap().unwrap();
}

#[test]
fn sigterm_ends_serve_with_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_octofeed"))
        .args(["serve", "--listen", "127.0.0.1:0", "-c"])
        .arg(&config)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.contains("serving") && line.contains("http://127.0.0.1:"), "{line}");
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}
