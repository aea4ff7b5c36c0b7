//! Fetch stage tests: global and per-host limits, host spacing and robots.txt.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wiremock::matchers::path;
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

use super::raw::{RawServer, Reply};
use super::*;

// ---- politeness ----

async fn fetch_concurrently(fetcher: &Fetcher, url: &Url, count: usize) {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..count {
        let (fetcher, url) = (fetcher.clone(), url.clone());
        tasks.spawn(async move { fetcher.fetch(&request(&url)).await.map(|_| ()) });
    }
    for outcome in tasks.join_all().await {
        outcome.unwrap();
    }
}

fn slow_ok() -> Reply {
    let bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".to_vec();
    Reply { delay: Duration::from_millis(150), bytes, hang: false }
}

#[tokio::test]
async fn at_most_per_host_requests_in_flight() {
    let server = RawServer::start(slow_ok()).await;
    let fetcher = fetcher(FetchSettings { per_host: 2, ..settings() });
    fetch_concurrently(&fetcher, &server.url, 5).await;
    assert_eq!(server.stats.requests.load(Ordering::SeqCst), 5);
    assert_eq!(server.stats.max_in_flight.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn at_most_concurrency_requests_in_flight() {
    let server = RawServer::start(slow_ok()).await;
    let fetcher = fetcher(FetchSettings { concurrency: 1, per_host: 4, ..settings() });
    fetch_concurrently(&fetcher, &server.url, 3).await;
    assert_eq!(server.stats.requests.load(Ordering::SeqCst), 3);
    assert_eq!(server.stats.max_in_flight.load(Ordering::SeqCst), 1);
}

/// Answers 200 and records when each request arrived.
#[derive(Clone, Default)]
struct Arrivals(Arc<Mutex<Vec<Instant>>>);

impl Respond for Arrivals {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        self.0.lock().unwrap().push(Instant::now());
        ok("ok")
    }
}

#[tokio::test]
async fn request_starts_to_one_host_are_spaced() {
    let server = MockServer::start().await;
    let arrivals = Arrivals::default();
    Mock::given(path("/p")).respond_with(arrivals.clone()).mount(&server).await;
    let delay = Duration::from_millis(200);
    let fetcher = fetcher(FetchSettings { per_host: 4, host_delay: delay, ..settings() });
    fetch_concurrently(&fetcher, &at(&server, "/p"), 3).await;
    let mut times = arrivals.0.lock().unwrap().clone();
    times.sort();
    assert_eq!(times.len(), 3);
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= delay - Duration::from_millis(60), "gap {gap:?}");
    }
}

// ---- robots.txt ----

async fn robots_server(robots: ResponseTemplate, robots_calls: u64) -> MockServer {
    let server = MockServer::start().await;
    mount(&server, "/robots.txt", robots, robots_calls).await;
    Mock::given(path("/public")).respond_with(ok("public")).mount(&server).await;
    Mock::given(path("/private/page")).respond_with(ok("secret")).mount(&server).await;
    server
}

fn with_robots(url: &Url) -> Request<'_> {
    Request { robots: true, ..request(url) }
}

#[tokio::test]
async fn robots_disallow_fails_the_fetch_and_is_fetched_once() {
    let server = robots_server(ok("User-agent: *\nDisallow: /private\n"), 1).await;
    let fetcher = fetcher(settings());
    let (public, private) = (at(&server, "/public"), at(&server, "/private/page"));
    for _ in 0..3 {
        assert_eq!(page(&fetcher, &with_robots(&public)).await.bytes, b"public");
        let error = fetcher.fetch(&with_robots(&private)).await.unwrap_err();
        assert!(matches!(error, FetchError::RobotsDisallowed { .. }), "{error:?}");
    }
}

#[tokio::test]
async fn robots_fetched_once_for_concurrent_first_requests() {
    let server = robots_server(ok("User-agent: *\nDisallow: /private\n"), 1).await;
    let fetcher = fetcher(FetchSettings { per_host: 4, ..settings() });
    let url = at(&server, "/public");
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (fetcher, url) = (fetcher.clone(), url.clone());
        tasks.spawn(async move { fetcher.fetch(&with_robots(&url)).await.map(|_| ()) });
    }
    for outcome in tasks.join_all().await {
        outcome.unwrap();
    }
}

#[tokio::test]
async fn robots_ignored_when_not_asked_for() {
    let server = robots_server(ok("User-agent: *\nDisallow: /\n"), 0).await;
    let url = at(&server, "/private/page");
    assert_eq!(page(&fetcher(settings()), &request(&url)).await.bytes, b"secret");
}

#[tokio::test]
async fn missing_robots_allows_everything() {
    let server = robots_server(ResponseTemplate::new(404), 1).await;
    let fetcher = fetcher(settings());
    let url = at(&server, "/private/page");
    assert_eq!(page(&fetcher, &with_robots(&url)).await.bytes, b"secret");
    assert_eq!(page(&fetcher, &with_robots(&url)).await.bytes, b"secret");
}

#[tokio::test]
async fn failing_robots_allows_everything_and_is_not_retried() {
    let server = robots_server(ResponseTemplate::new(500), 1).await;
    let fetcher = fetcher(settings());
    let url = at(&server, "/private/page");
    assert_eq!(page(&fetcher, &with_robots(&url)).await.bytes, b"secret");
    assert_eq!(page(&fetcher, &with_robots(&url)).await.bytes, b"secret");
}
