//! Push after publishing, against local receivers (wiremock): a WebSub hub is
//! pinged with the URLs of the feeds that changed and named in every format; a
//! webhook gets one signed POST per new item, exactly once, even when it was
//! down for a while, and never holds up publishing.

mod store_kit;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use store_kit::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const SECRET: &str = "s3cret shared with the receiver";

/// `octofeed run --json` on a blocking thread, so the mock servers keep answering.
async fn run(config: &Path, now: DateTime<Utc>) -> (i32, serde_json::Value) {
    let config = config.to_path_buf();
    tokio::task::spawn_blocking(move || run_json(&config, now)).await.expect("the run finished")
}

async fn answer(server: &MockServer, route: &str, status: u16) {
    server.reset().await;
    Mock::given(method("POST")).and(path(route)).respond_with(ResponseTemplate::new(status)).mount(server).await;
}

async fn posts_to(server: &MockServer, route: &str) -> Vec<Request> {
    let requests = server.received_requests().await.expect("requests are recorded");
    requests.into_iter().filter(|request| request.url.path() == route).collect()
}

/// A folder whose `octopus` source reads `octopus.html` (the June page first).
fn site(site_extra: &str, more: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temp dir");
    serve_page(dir.path(), "octopus.html", JUNE);
    let sources = [octopus_source("octopus", "file:octopus.html", "max_items = 100"), more.to_owned()];
    let config = write_config(dir.path(), site_extra, &sources);
    (dir, config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websub_hub_is_named_in_every_format_and_pinged_after_each_change_only() {
    let hub = MockServer::start().await;
    answer(&hub, "/hub", 204).await;
    let (dir, config) = site(&format!("websub_hub = \"{}/hub\"", hub.uri()), "");

    let (code, report) = run(&config, clock(1, 8)).await;
    assert_eq!(code, 0, "{report}");
    let pinged: BTreeSet<String> = posts_to(&hub, "/hub")
        .await
        .iter()
        .map(|request| {
            let form: BTreeMap<String, String> =
                url::form_urlencoded::parse(&request.body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
            assert_eq!(form.get("hub.mode").map(String::as_str), Some("publish"));
            form["hub.url"].clone()
        })
        .collect();
    let files = ["atom.xml", "feed.json", "new.xml", "rss.xml"];
    let expected: BTreeSet<String> = files.iter().map(|file| format!("http://localhost:8080/octopus/{file}")).collect();
    assert_eq!(pinged, expected, "each changed feed file, once");
    assert_eq!(report["websub"]["pinged"], 4);
    let public = dir.path().join("public/octopus");
    for file in files {
        let text = std::fs::read_to_string(public.join(file)).expect("a published file");
        assert!(text.contains(&format!("{}/hub", hub.uri())), "{file} names the hub");
    }

    answer(&hub, "/hub", 204).await;
    let (code, report) = run(&config, clock(1, 9)).await;
    assert_eq!(code, 0, "{report}");
    assert!(posts_to(&hub, "/hub").await.is_empty(), "nothing changed, nothing pinged");

    // A hub that fails is retried, logged and reported; the run still succeeds.
    answer(&hub, "/hub", 500).await;
    serve_page(dir.path(), "octopus.html", DECEMBER);
    let (code, report) = run(&config, clock(2, 8)).await;
    assert_eq!(code, 0, "a hub that is down does not fail the run: {report}");
    assert_eq!(posts_to(&hub, "/hub").await.len(), 4 * 3, "three tries per feed URL");
    assert_eq!(report["websub"]["failed"].as_array().map(Vec::len), Some(4));
    let rss = std::fs::read_to_string(public.join("rss.xml")).expect("rss.xml");
    assert!(rss.contains("Pacific Islands"), "the feed is published all the same");
}

#[test]
fn websub_hub_without_base_url_is_a_config_error() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let text = "[site]\ntitle = \"t\"\nwebsub_hub = \"https://hub.example.net/\"\n\n[[source]]\nid = \"a\"\n\
                url = \"https://example.org/\"\n[source.select]\nitem = \"li\"\ntitle = \"a\"\nlink = \"a\"\n";
    let path = dir.path().join("octofeed.toml");
    std::fs::write(&path, text).expect("config written");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_octofeed"))
        .args(["check", "-c"])
        .arg(&path)
        .output()
        .expect("octofeed ran");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("websub_hub") && stderr.contains("base_url") && stderr.contains(":3"), "{stderr}");
}

/// The webhook's deliveries so far: guid → (count, body), with every signature checked.
fn deliveries(requests: &[Request]) -> BTreeMap<String, usize> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    for request in requests {
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("a key");
        mac.update(&request.body);
        let expected: String = mac.finalize().into_bytes().iter().map(|byte| format!("{byte:02x}")).collect();
        let signature = request.headers.get("x-octofeed-signature-256").expect("a signature").to_str().unwrap();
        assert_eq!(signature, format!("sha256={expected}"), "the body is signed with the secret");
        let item: serde_json::Value = serde_json::from_slice(&request.body).expect("a JSON body");
        let guid = item["id"].as_str().expect("a JSON Feed item id").to_owned();
        assert!(item["title"].is_string() && item["date_published"].is_string(), "{item}");
        assert_eq!(item["_octofeed"]["feed_id"], request.headers.get("x-octofeed-feed").unwrap().to_str().unwrap());
        let delivery = request.headers.get("x-octofeed-delivery").expect("a delivery id").to_str().unwrap();
        let previous = ids.insert(delivery.to_owned(), guid.clone());
        assert!(previous.is_none() || previous.as_ref() == Some(&guid), "one delivery id per item");
        *seen.entry(guid).or_default() += 1;
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_gets_each_new_item_once_signed_even_after_being_down() {
    let receiver = MockServer::start().await;
    answer(&receiver, "/hook", 503).await;
    let hook =
        format!("\n[[webhook]]\nurl = \"{}/hook\"\nsecret = \"{SECRET}\"\nsources = [\"octopus\"]\n", receiver.uri());
    let (dir, config) = site("", &hook);

    let (code, report) = run(&config, clock(1, 8)).await;
    assert_eq!(code, 0, "{report}");
    assert!(posts_to(&receiver, "/hook").await.is_empty(), "a new webhook is not sent the whole history");
    assert_eq!(report["webhooks"]["pending"], 0);

    // December: 8 new items, and the receiver is down. Publishing goes on.
    serve_page(dir.path(), "octopus.html", DECEMBER);
    let (code, report) = run(&config, clock(2, 8)).await;
    assert_eq!(code, 0, "a receiver that is down does not fail the run: {report}");
    assert_eq!(report["webhooks"]["pending"], 8, "{report}");
    assert_eq!(posts_to(&receiver, "/hook").await.len(), 3, "three tries, then it waits for a later run");
    let rss = std::fs::read_to_string(dir.path().join("public/octopus/rss.xml")).expect("rss.xml");
    assert!(rss.contains("Pacific Islands"), "publishing was not held up");

    // Back up, but the retry is not due yet: nothing is sent.
    answer(&receiver, "/hook", 200).await;
    let (_, report) = run(&config, clock(2, 8) + Duration::seconds(20)).await;
    assert_eq!(report["webhooks"]["pending"], 8, "{report}");
    assert!(posts_to(&receiver, "/hook").await.is_empty());

    // Due: all 8 delivered, each once, signed.
    let (_, report) = run(&config, clock(2, 9)).await;
    assert_eq!((report["webhooks"]["delivered"].as_u64(), report["webhooks"]["pending"].as_u64()), (Some(8), Some(0)));
    let first = deliveries(&posts_to(&receiver, "/hook").await);
    assert_eq!(first.len(), 8);
    assert!(first.values().all(|&count| count == 1), "{first:?}");

    // Later runs send nothing again.
    answer(&receiver, "/hook", 200).await;
    for hour in 10..12 {
        let (_, report) = run(&config, clock(2, hour)).await;
        assert_eq!(report["webhooks"]["delivered"], 0, "{report}");
    }
    assert!(posts_to(&receiver, "/hook").await.is_empty(), "an accepted item is never sent twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_webhook_gets_an_item_two_sources_share_once() {
    let receiver = MockServer::start().await;
    answer(&receiver, "/hook", 202).await;
    let more = format!(
        "{}\n[[channel]]\nid = \"both\"\ntitle = \"Both\"\nsources = [\"octopus\", \"mirror\"]\n\n\
         [[webhook]]\nurl = \"{}/hook\"\nsecret = \"{SECRET}\"\nchannels = [\"both\"]\n",
        octopus_source("mirror", "file:octopus.html", ""),
        receiver.uri()
    );
    let (dir, config) = site("", &more);
    let (code, report) = run(&config, clock(1, 8)).await;
    assert_eq!(code, 0, "{report}");
    serve_page(dir.path(), "octopus.html", DECEMBER);
    let (code, report) = run(&config, clock(2, 8)).await;
    assert_eq!(code, 0, "{report}");
    let sent = deliveries(&posts_to(&receiver, "/hook").await);
    assert_eq!(sent.len(), 8, "8 new items in the channel, though each is new in two sources: {sent:?}");
    assert!(sent.values().all(|&count| count == 1));
}
