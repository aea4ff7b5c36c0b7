//! The output interface on both implementations: a local folder and an S3
//! bucket of a real S3-compatible server (`.ci/run` starts moto's, see
//! `scripts/test-s3`). Each interface test runs on the folder and, when
//! `OCTOFEED_TEST_S3` names an endpoint, on a fresh prefix of its
//! `octofeed-test` bucket; without it the S3 half is skipped with a message,
//! and `OCTOFEED_REQUIRE_S3=1` makes that a failure. Then whole runs and
//! `serve` on a bucket: feeds uploaded once with their headers, served back
//! with validators, and a dead endpoint failing loudly without losing anything.

mod store_kit;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use octofeed::output::folder::Folder;
use octofeed::output::s3::{S3, S3Location};
use octofeed::output::{Headers, Output};
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use store_kit::{DECEMBER, clock, octopus_source, run_json, serve_page, source_report, write_config_publishing_to};

/// The variable naming the test S3 endpoint, and the one that makes its absence a failure.
const S3_VAR: &str = "OCTOFEED_TEST_S3";
const REQUIRE_S3_VAR: &str = "OCTOFEED_REQUIRE_S3";
/// The bucket `scripts/test-s3` makes.
const BUCKET: &str = "octofeed-test";

/// The test endpoint, or `None` (with a message, or a failure when S3 is required).
fn s3_endpoint(test: &str) -> Option<url::Url> {
    match std::env::var(S3_VAR) {
        Ok(endpoint) => {
            let credentials = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"];
            if credentials.iter().any(|name| std::env::var_os(name).is_none()) {
                panic!("{S3_VAR} is set: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY too (any value for moto)");
            }
            Some(url::Url::parse(&endpoint).unwrap_or_else(|error| panic!("{S3_VAR}={endpoint}: {error}")))
        }
        Err(_) if std::env::var(REQUIRE_S3_VAR).as_deref() == Ok("1") => {
            panic!("{test}: {REQUIRE_S3_VAR}=1 but {S3_VAR} is not set (scripts/test-s3 start prints it)")
        }
        Err(_) => {
            eprintln!("{test}: S3 part skipped: set {S3_VAR} to an S3-compatible endpoint (scripts/test-s3 start)");
            None
        }
    }
}

/// A prefix no other test or run uses.
fn fresh_prefix(test: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{test}-{}-{nanos}", std::process::id())
}

fn s3_location(endpoint: &url::Url, prefix: &str) -> S3Location {
    S3Location {
        bucket: BUCKET.to_owned(),
        prefix: prefix.to_owned(),
        endpoint: Some(endpoint.clone()),
        region: Some("us-east-1".to_owned()),
    }
}

/// The folder output (in `dir`) and, when there is a test endpoint, an S3 output on a fresh prefix.
fn outputs(test: &str, dir: &Path) -> Vec<(&'static str, Arc<dyn Output>)> {
    let mut outputs: Vec<(&'static str, Arc<dyn Output>)> = vec![("folder", Arc::new(Folder::new(dir.join("out"))))];
    if let Some(endpoint) = s3_endpoint(test) {
        let output = S3::open(&s3_location(&endpoint, &fresh_prefix(test))).expect("an S3 output");
        outputs.push(("s3", Arc::new(output)));
    }
    outputs
}

/// An object as another S3 client reads it: its attributes (headers) and bytes.
async fn get_object(endpoint: &url::Url, key: &str) -> (object_store::Attributes, Vec<u8>) {
    use object_store::ObjectStoreExt;
    let client = object_store::aws::AmazonS3Builder::from_env()
        .with_bucket_name(BUCKET)
        .with_region("us-east-1")
        .with_endpoint(endpoint.as_str().trim_end_matches('/'))
        .with_allow_http(true)
        .build()
        .unwrap();
    let result =
        client.get(&object_store::path::Path::from(key)).await.unwrap_or_else(|error| panic!("{key}: {error}"));
    let attributes = result.attributes.clone();
    (attributes, result.bytes().await.unwrap().to_vec())
}

fn attribute<'a>(attributes: &'a object_store::Attributes, key: &object_store::Attribute) -> &'a str {
    attributes.get(key).map_or("", |value| value.as_ref())
}

const RSS: Headers<'static> =
    Headers { content_type: "application/rss+xml; charset=utf-8", cache_control: "public, max-age=3600" };

#[test]
fn a_file_is_written_only_when_its_bytes_change_and_reads_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, output) in outputs("write_if_changed", dir.path()) {
        assert!(output.stamp("octopus/rss.xml").unwrap().is_none(), "{kind}: nothing yet");
        assert!(output.read("octopus/rss.xml").unwrap().is_none(), "{kind}: nothing yet");

        assert!(output.write_if_changed("octopus/rss.xml", b"<rss>one</rss>", RSS).unwrap(), "{kind}");
        let first = output.stamp("octopus/rss.xml").unwrap().expect("written");
        // Object stores date objects to the second: a rewrite within it must still be told apart.
        std::thread::sleep(Duration::from_millis(1100));
        assert!(!output.write_if_changed("octopus/rss.xml", b"<rss>one</rss>", RSS).unwrap(), "{kind}: same bytes");
        assert_eq!(output.stamp("octopus/rss.xml").unwrap().as_ref(), Some(&first), "{kind}: untouched");

        assert!(output.write_if_changed("octopus/rss.xml", b"<rss>two</rss>", RSS).unwrap(), "{kind}");
        let read = output.read("octopus/rss.xml").unwrap().expect("there");
        assert_eq!(read.bytes, b"<rss>two</rss>", "{kind}");
        assert_ne!(read.stamp, first, "{kind}: a new version");
        assert_eq!(output.stamp("octopus/rss.xml").unwrap(), Some(read.stamp), "{kind}: read and stamp agree");
    }
}

#[test]
fn a_listing_names_what_is_under_a_prefix_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, output) in outputs("list", dir.path()) {
        for name in ["octopus/rss.xml", "octopus/atom.xml", "octopus-news/rss.xml", "index.html"] {
            output.write_if_changed(name, name.as_bytes(), RSS).unwrap();
        }
        assert_eq!(output.list("octopus/").unwrap(), ["octopus/atom.xml", "octopus/rss.xml"], "{kind}");
        assert_eq!(output.list("octopus-news/").unwrap(), ["octopus-news/rss.xml"], "{kind}");
        assert!(output.list("none/").unwrap().is_empty(), "{kind}");
        assert_eq!(output.list("").unwrap().len(), 4, "{kind}: {:?}", output.list(""));
    }
}

#[tokio::test]
async fn objects_carry_their_type_cache_control_and_hash_and_new_headers_reupload() {
    let Some(endpoint) = s3_endpoint("object headers") else { return };
    let prefix = fresh_prefix("headers");
    let output = Arc::new(S3::open(&s3_location(&endpoint, &prefix)).unwrap());
    let write = |bytes: &'static [u8], headers: Headers<'static>| {
        let output = Arc::clone(&output);
        move || output.write_if_changed("octopus/rss.xml", bytes, headers).unwrap()
    };
    assert!(tokio::task::spawn_blocking(write(b"<rss/>", RSS)).await.unwrap());
    use object_store::Attribute;
    let key = format!("{prefix}/octopus/rss.xml");
    let (attributes, bytes) = get_object(&endpoint, &key).await;
    assert_eq!(bytes, b"<rss/>");
    assert_eq!(attribute(&attributes, &Attribute::ContentType), RSS.content_type);
    assert_eq!(attribute(&attributes, &Attribute::CacheControl), RSS.cache_control);
    let sha256 = octofeed::identity::hex(&<sha2::Sha256 as sha2::Digest>::digest(b"<rss/>"));
    let hash_key = Attribute::Metadata("sha256".into());
    assert_eq!(attribute(&attributes, &hash_key), sha256, "x-amz-meta-sha256");

    let longer = Headers { cache_control: "public, max-age=60", ..RSS };
    assert!(tokio::task::spawn_blocking(write(b"<rss/>", longer)).await.unwrap(), "same bytes, new headers");
    let (attributes, _) = get_object(&endpoint, &key).await;
    assert_eq!(attribute(&attributes, &Attribute::CacheControl), "public, max-age=60");
    assert_eq!(attribute(&attributes, &hash_key), sha256, "same bytes, same hash");
}

/// A config in `dir` over one saved Octopus page and a channel, publishing to `output_lines`.
fn write_config(dir: &Path, output_lines: &str) -> PathBuf {
    serve_page(dir, "octopus.html", DECEMBER);
    let sources = [
        octopus_source("octopus", "file:octopus.html", "interval = \"1d\""),
        "[[channel]]\nid = \"all\"\ntitle = \"All\"\nsources = [\"octopus\"]\n".to_owned(),
    ];
    write_config_publishing_to(dir, output_lines, &sources)
}

fn s3_output_lines(endpoint: &url::Url, prefix: &str) -> String {
    format!("output = \"s3://{BUCKET}/{prefix}\"\n\n[site.s3]\nendpoint = \"{endpoint}\"\nregion = \"us-east-1\"")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_uploads_each_file_once_and_serve_answers_from_the_bucket() {
    let Some(endpoint) = s3_endpoint("run on S3") else { return };
    let dir = tempfile::tempdir().unwrap();
    let prefix = fresh_prefix("run");
    let config_path = write_config(dir.path(), &s3_output_lines(&endpoint, &prefix));

    let (code, first) = run_json(&config_path, clock(2, 8));
    assert_eq!(code, 0, "{first}");
    let written = first["files_written"].as_u64().unwrap();
    assert_eq!(written, 2 * 4 + 2, "two feeds of four files, the index and the OPML: {first}");
    let (code, second) = run_json(&config_path, clock(2, 9));
    assert_eq!(code, 0, "{second}");
    assert_eq!(second["files_written"], 0, "nothing changed, nothing uploaded: {second}");
    assert!(!dir.path().join("public").exists(), "no local folder written");

    let config = octofeed::config::Config::load(&config_path).unwrap();
    let output = octofeed::output::open(&config.site.output).unwrap();
    let names = tokio::task::spawn_blocking(move || output.list("").unwrap()).await.unwrap();
    assert_eq!(names.len(), 10, "{names:?}");
    for name in names.iter().filter(|name| name.ends_with(".xml") || name.ends_with(".json")) {
        let (_, bytes) = get_object(&endpoint, &format!("{prefix}/{name}")).await;
        let feed = feed_rs::parser::parse(&bytes[..]).unwrap_or_else(|error| panic!("{name}: {error}"));
        assert!(!feed.entries.is_empty(), "{name} has the page's items");
    }

    let runner = Arc::new(octofeed::run::Runner::open_long_lived(&config).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let state = octofeed::serve::ServeState::new(config, runner);
    let server = tokio::spawn(octofeed::serve::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder().no_gzip().build().unwrap();
    let response = client.get(format!("{base}/octopus/atom.xml")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/atom+xml; charset=utf-8");
    assert_eq!(response.headers()[CACHE_CONTROL], "public, max-age=86400");
    let etag = response.headers()[ETAG].clone();
    let served = response.bytes().await.unwrap();
    let (_, stored) = get_object(&endpoint, &format!("{prefix}/octopus/atom.xml")).await;
    assert_eq!(served, stored, "the bucket's bytes");
    let again = client.get(format!("{base}/octopus/atom.xml")).header(IF_NONE_MATCH, etag).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let index = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(index.status(), StatusCode::OK);
    assert!(index.text().await.unwrap().contains("History test"));
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

#[test]
fn a_dead_endpoint_fails_the_run_and_the_next_run_publishes_what_was_kept() {
    let Some(endpoint) = s3_endpoint("dead endpoint") else { return };
    let dir = tempfile::tempdir().unwrap();
    let prefix = fresh_prefix("dead");
    // Nothing listens on port 9 of loopback (discard is not run here): connections are refused.
    let dead = url::Url::parse("http://127.0.0.1:9/").unwrap();
    let config_path = write_config(dir.path(), &s3_output_lines(&dead, &prefix));
    let (code, report) = run_json(&config_path, clock(2, 8));
    assert_eq!(code, 1, "a publish that fails fails the run: {report}");
    let error = report["publish_error"].as_str().expect("the publish error");
    assert!(error.contains(&format!("s3://{BUCKET}/{prefix}/")), "names the object: {error}");
    assert!(error.contains("[site.s3] endpoint"), "says what to check: {error}");
    let stored = source_report(&report, "octopus")["items_new"].as_u64().unwrap();
    assert!(stored > 0, "the refresh itself succeeded: {report}");

    let config_path = write_config(dir.path(), &s3_output_lines(&endpoint, &prefix));
    let (code, report) = run_json(&config_path, clock(2, 9));
    assert_eq!(code, 0, "{report}");
    assert_eq!(source_report(&report, "octopus")["items_new"], 0, "the items were kept, none new twice: {report}");
    assert_eq!(report["files_written"], 2 * 4 + 2, "what could not be published is published now: {report}");
}
