//! Fetch stage tests: retries, backoff and `Retry-After`, all within the timeout.

use std::time::{Duration, Instant};

use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

// ---- retries ----

#[tokio::test]
async fn server_error_then_success_is_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/flaky"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount(&server, "/flaky", ok("fine"), 1).await;
    let url = at(&server, "/flaky");
    let page = page(&fetcher(settings()), &request(&url)).await;
    assert_eq!(page.bytes, b"fine");
}

#[tokio::test]
async fn server_error_forever_fails_after_the_retries() {
    let server = MockServer::start().await;
    mount(&server, "/down", ResponseTemplate::new(503), 3).await;
    let url = at(&server, "/down");
    let error = fetcher(settings()).fetch(&request(&url)).await.unwrap_err();
    assert!(matches!(error, FetchError::Status { code: 503, .. }), "{error:?}");
}

#[tokio::test]
async fn retries_stop_within_the_timeout() {
    let server = MockServer::start().await;
    Mock::given(path("/down")).respond_with(ResponseTemplate::new(503)).mount(&server).await;
    let url = at(&server, "/down");
    let settings = FetchSettings { retries: 50, backoff_base: Duration::from_millis(100), ..settings() };
    let req = Request { timeout: Duration::from_millis(1500), ..request(&url) };
    let started = Instant::now();
    let error = fetcher(settings).fetch(&req).await.unwrap_err();
    assert!(started.elapsed() <= Duration::from_millis(1600), "{:?}", started.elapsed());
    assert!(matches!(error, FetchError::Status { code: 503, .. }), "{error:?}");
    let calls = server.received_requests().await.unwrap().len();
    assert!((2..50).contains(&calls), "{calls} calls");
}

async fn too_many_requests_then_ok(server: &MockServer, retry_after: &str) {
    Mock::given(path("/busy"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", retry_after))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(server)
        .await;
    mount(server, "/busy", ok("served"), 1).await;
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = MockServer::start().await;
    too_many_requests_then_ok(&server, "1").await;
    let url = at(&server, "/busy");
    let started = Instant::now();
    let page = page(&fetcher(settings()), &request(&url)).await;
    assert!(started.elapsed() >= Duration::from_secs(1), "{:?}", started.elapsed());
    assert_eq!(page.bytes, b"served");
}

#[tokio::test]
async fn retry_after_is_capped() {
    let server = MockServer::start().await;
    too_many_requests_then_ok(&server, "3600").await;
    let url = at(&server, "/busy");
    let settings = FetchSettings { retry_after_cap: Duration::from_millis(100), ..settings() };
    let started = Instant::now();
    let page = page(&fetcher(settings), &request(&url)).await;
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(100) && elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert_eq!(page.bytes, b"served");
}

#[tokio::test]
async fn retry_after_beyond_the_timeout_fails_at_once() {
    let server = MockServer::start().await;
    let response = ResponseTemplate::new(429).insert_header("retry-after", "30");
    mount(&server, "/busy", response, 1).await;
    let url = at(&server, "/busy");
    let settings = FetchSettings { retry_after_cap: Duration::from_secs(60), ..settings() };
    let started = Instant::now();
    let error = fetcher(settings).fetch(&request(&url)).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    assert!(matches!(error, FetchError::Status { code: 429, .. }), "{error:?}");
}

#[tokio::test]
async fn not_found_is_not_retried() {
    let server = MockServer::start().await;
    mount(&server, "/gone", ResponseTemplate::new(404), 1).await;
    let url = at(&server, "/gone");
    let error = fetcher(settings()).fetch(&request(&url)).await.unwrap_err();
    assert!(matches!(error, FetchError::Status { code: 404, .. }), "{error:?}");
    assert!(error.to_string().contains("/gone"), "{error}");
}
