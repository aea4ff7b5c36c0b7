//! Whole runs against local servers that misbehave: many sources on one host,
//! connection failures, 5xx, 429, oversized bodies, redirect loops, compressed
//! bodies and a server that never answers. Each run must end, with the failing
//! source named and the others published. Exact timings live in the fetch unit tests.

mod fetch_kit;

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fetch_kit::{Site, failure, listing, listing_source, report, site_table};
use octofeed::run::Status;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

/// Generous bound on a run's length beyond its timeouts: slow CI, not logic.
const SLACK: Duration = Duration::from_secs(10);

fn page() -> String {
    listing(&[("Octopus Conference 2023", "/news/octopus-2023"), ("Budapest Convention day", "/news/bcd")])
}

/// A site with one listing source at `url`, robots.txt off, `site_extra` in `[site]`.
fn one_source(site_extra: &str, url: &str, source_extra: &str) -> Site {
    let source = listing_source("news", url, &format!("robots = false\n{source_extra}"));
    Site::new(&format!("{}{source}", site_table(site_extra)))
}

async fn mount_page(server: &MockServer, route: &str, response: ResponseTemplate) {
    Mock::given(method("GET")).and(path(route)).respond_with(response).mount(server).await;
}

// ---- concurrency ----

/// Answers after `delay`, counting how many requests are in flight: a request
/// is in flight from its arrival until its answer, `delay` later (the client
/// cannot send another on that slot before it has read the answer).
#[derive(Clone)]
struct Gauge {
    arrivals: Arc<Mutex<Vec<Instant>>>,
    max_in_flight: Arc<AtomicUsize>,
    delay: Duration,
}

impl Respond for Gauge {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        let now = Instant::now();
        let mut arrivals = self.arrivals.lock().unwrap();
        arrivals.retain(|arrival| now.duration_since(*arrival) < self.delay);
        arrivals.push(now);
        self.max_in_flight.fetch_max(arrivals.len(), Ordering::SeqCst);
        ResponseTemplate::new(200).set_body_string(page()).set_delay(self.delay)
    }
}

#[tokio::test]
async fn sources_on_one_host_share_its_two_connections() {
    let server = MockServer::start().await;
    let gauge = Gauge { arrivals: Arc::default(), max_in_flight: Arc::default(), delay: Duration::from_millis(300) };
    Mock::given(method("GET")).respond_with(gauge.clone()).expect(8).mount(&server).await;
    let sources: String = (0..8)
        .map(|n| listing_source(&format!("s{n}"), &format!("{}/page/{n}", server.uri()), "robots = false"))
        .collect();
    let site = Site::new(&format!("{}{sources}", site_table("concurrency = 8\nper_host = 2")));
    let run = site.run().await;
    assert!(run.sources.iter().all(|source| source.status == Status::Ok), "{run:?}");
    assert_eq!(gauge.max_in_flight.load(Ordering::SeqCst), 2, "per_host = 2 caps requests in flight");
}

// ---- faults ----

#[tokio::test]
async fn a_closed_port_fails_its_source_only() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/news", closed.local_addr().unwrap());
    drop(closed);
    let server = MockServer::start().await;
    mount_page(&server, "/ok", ResponseTemplate::new(200).set_body_string(page())).await;
    let sources = format!(
        "{}{}",
        listing_source("down", &url, "robots = false\ntimeout = \"3s\""),
        listing_source("up", &format!("{}/ok", server.uri()), "robots = false")
    );
    let site = Site::new(&format!("{}{sources}", site_table("retries = 1")));
    let started = Instant::now();
    let run = site.run().await;
    assert!(started.elapsed() < Duration::from_secs(3) + SLACK);
    let error = failure(&run, "down");
    assert!(error.contains("could not connect") && error.contains(&url), "{error}");
    assert_eq!(report(&run, "up").status, Status::Ok);
    assert_eq!(site.titles("up").len(), 2);
}

#[tokio::test]
async fn server_errors_are_retried_until_the_page_comes() {
    let server = MockServer::start().await;
    Mock::given(path("/news")).respond_with(ResponseTemplate::new(503)).up_to_n_times(2).expect(2).mount(&server).await;
    mount_page(&server, "/news", ResponseTemplate::new(200).set_body_string(page())).await;
    let site = one_source("retries = 2", &format!("{}/news", server.uri()), "timeout = \"10s\"");
    let started = Instant::now();
    let run = site.run().await;
    assert!(started.elapsed() < Duration::from_secs(10) + SLACK);
    assert_eq!(report(&run, "news").status, Status::Ok, "{run:?}");
    assert_eq!(site.titles("news"), ["Octopus Conference 2023", "Budapest Convention day"]);
}

#[tokio::test]
async fn too_many_requests_waits_as_retry_after_says() {
    let server = MockServer::start().await;
    let arrivals: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let busy = ResponseTemplate::new(429).insert_header("retry-after", "1");
    Mock::given(path("/news")).respond_with(busy).up_to_n_times(1).expect(1).mount(&server).await;
    let recorder =
        Recorder { arrivals: Arc::clone(&arrivals), response: ResponseTemplate::new(200).set_body_string(page()) };
    Mock::given(path("/news")).respond_with(recorder).expect(1).mount(&server).await;
    let started = Instant::now();
    let site = one_source("retries = 1", &format!("{}/news", server.uri()), "timeout = \"10s\"");
    let run = site.run().await;
    assert_eq!(report(&run, "news").status, Status::Ok, "{run:?}");
    let retried_after = arrivals.lock().unwrap()[0] - started;
    assert!(retried_after >= Duration::from_millis(950), "the retry came {retried_after:?} after the start");
}

#[tokio::test]
async fn retry_after_beyond_the_timeout_gives_up_at_once() {
    let server = MockServer::start().await;
    let busy = ResponseTemplate::new(429).insert_header("retry-after", "3600");
    Mock::given(path("/news")).respond_with(busy).expect(1).mount(&server).await;
    let site = one_source("retries = 2", &format!("{}/news", server.uri()), "timeout = \"5s\"");
    let started = Instant::now();
    let run = site.run().await;
    assert!(started.elapsed() < Duration::from_secs(5) + SLACK);
    let error = failure(&run, "news");
    assert!(error.contains("HTTP status 429"), "{error}");
}

/// Records when the request came, then answers `response`.
struct Recorder {
    arrivals: Arc<Mutex<Vec<Instant>>>,
    response: ResponseTemplate,
}

impl Respond for Recorder {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        self.arrivals.lock().unwrap().push(Instant::now());
        self.response.clone()
    }
}

#[tokio::test]
async fn a_body_over_max_body_names_the_limit() {
    let server = MockServer::start().await;
    let big = format!("{}<!-- {} -->", page(), "x".repeat(4096));
    mount_page(&server, "/news", ResponseTemplate::new(200).set_body_string(big)).await;
    let site = one_source("max_body = \"2KiB\"", &format!("{}/news", server.uri()), "");
    let error = failure(&site.run().await, "news");
    assert!(error.contains("max_body") && error.contains("2048 bytes"), "{error}");
}

#[tokio::test]
async fn a_redirect_loop_ends_with_a_clear_error() {
    let server = MockServer::start().await;
    let to = |target: &str| ResponseTemplate::new(302).insert_header("location", target);
    mount_page(&server, "/a", to("/b")).await;
    mount_page(&server, "/b", to("/a")).await;
    let site = one_source("", &format!("{}/a", server.uri()), "");
    let error = failure(&site.run().await, "news");
    assert!(error.contains("redirected more than 10 times"), "{error}");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/news", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let site = one_source("retries = 2", &url, "timeout = \"2s\"");
    let started = Instant::now();
    let run = site.run().await;
    assert!(started.elapsed() < Duration::from_secs(2) + SLACK);
    let error = failure(&run, "news");
    assert!(error.contains("did not answer within 2s"), "{error}");
}

// ---- compressed bodies ----

async fn titles_of_compressed(encoding: &str, body: Vec<u8>) -> Vec<String> {
    let server = MockServer::start().await;
    let response = ResponseTemplate::new(200)
        .insert_header("content-encoding", encoding)
        .insert_header("content-type", "text/html; charset=utf-8")
        .set_body_bytes(body);
    mount_page(&server, "/news", response).await;
    let site = one_source("", &format!("{}/news", server.uri()), "");
    let run = site.run().await;
    assert_eq!(report(&run, "news").status, Status::Ok, "{run:?}");
    site.titles("news")
}

const TITLES: [&str; 2] = ["Octopus Conference 2023", "Budapest Convention day"];

#[tokio::test]
async fn gzip_listing_is_read() {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(page().as_bytes()).unwrap();
    assert_eq!(titles_of_compressed("gzip", encoder.finish().unwrap()).await, TITLES);
}

#[tokio::test]
async fn deflate_listing_is_read() {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(page().as_bytes()).unwrap();
    assert_eq!(titles_of_compressed("deflate", encoder.finish().unwrap()).await, TITLES);
}

#[tokio::test]
async fn brotli_listing_is_read() {
    let mut compressed = Vec::new();
    {
        let mut encoder = brotli::CompressorWriter::new(&mut compressed, 4096, 5, 22);
        encoder.write_all(page().as_bytes()).unwrap();
    }
    assert_eq!(titles_of_compressed("br", compressed).await, TITLES);
}

#[tokio::test]
async fn a_bot_challenge_instead_of_the_page_fails_the_source_naming_it_and_keeps_its_feed() {
    let server = wiremock::MockServer::start().await;
    let listing = "<html><body><ul><li class=\"news\"><h3><a href=\"/a\">Plenary</a></h3></li></ul></body></html>";
    let challenge = "<html><head><title>Just a moment...</title></head><body><div id=\"cf-wrapper\">\
                     <script src=\"/cdn-cgi/challenge-platform/h/b/orchestrate/jsch/v1\"></script></div></body></html>";
    let page = |body: &str| wiremock::ResponseTemplate::new(200).set_body_string(body.to_owned());
    let first = server
        .register_as_scoped(wiremock::Mock::given(wiremock::matchers::path("/news")).respond_with(page(listing)))
        .await;
    let source = format!(
        "[[source]]\nid = \"coe\"\nurl = \"{}/news\"\nrobots = false\n\
         [source.select]\nitem = \"li.news\"\ntitle = \"h3\"\nlink = \"h3 a\"\n",
        server.uri()
    );
    let site = fetch_kit::Site::new(&format!("{}{source}", fetch_kit::site_table("")));
    assert!(!site.run().await.any_failed());
    let feed = site.published("coe/rss.xml");
    drop(first);
    wiremock::Mock::given(wiremock::matchers::path("/news")).respond_with(page(challenge)).mount(&server).await;
    let report = site.run().await;
    let error = fetch_kit::failure(&report, "coe");
    assert!(error.contains("Cloudflare bot challenge") && !error.contains("matched nothing"), "{error}");
    assert_eq!(site.published("coe/rss.xml"), feed, "the last good feed is kept");
}
