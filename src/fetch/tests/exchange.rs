//! Fetch stage tests: one exchange — conditional requests, bodies and headers,
//! redirects, compression, size limits, timeouts, `file:` URLs.

use std::io::Write;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::raw::{RawServer, Reply};
use super::*;

// ---- conditional requests, bodies, headers ----

#[tokio::test]
async fn not_modified_when_the_server_says_so() {
    let server = MockServer::start().await;
    mount(&server, "/news", ResponseTemplate::new(304), 1).await;
    let url = at(&server, "/news");
    let req = Request { etag: Some("\"v1\""), last_modified: Some("Tue, 03 Mar 2026 10:00:00 GMT"), ..request(&url) };
    let fetched = fetcher(settings()).fetch(&req).await.unwrap();
    assert_eq!(fetched, Fetched::NotModified);
    let received = server.received_requests().await.unwrap();
    let sent = |name: &str| received[0].headers.get(name).map(|value| value.to_str().unwrap().to_owned());
    assert_eq!(sent("if-none-match").as_deref(), Some("\"v1\""));
    assert_eq!(sent("if-modified-since").as_deref(), Some("Tue, 03 Mar 2026 10:00:00 GMT"));
}

#[tokio::test]
async fn no_conditional_headers_without_a_previous_fetch() {
    let server = MockServer::start().await;
    mount(&server, "/news", ok("fresh"), 1).await;
    let url = at(&server, "/news");
    page(&fetcher(settings()), &request(&url)).await;
    let received = server.received_requests().await.unwrap();
    assert!(received[0].headers.get("if-none-match").is_none());
    assert!(received[0].headers.get("if-modified-since").is_none());
}

#[tokio::test]
async fn page_with_body_and_headers() {
    let server = MockServer::start().await;
    let response = ResponseTemplate::new(200)
        .set_body_raw("<p>hello</p>", "text/html; charset=utf-8")
        .insert_header("etag", "\"abc\"")
        .insert_header("last-modified", "Tue, 03 Mar 2026 10:00:00 GMT");
    Mock::given(method("GET"))
        .and(path("/news"))
        .and(header("user-agent", default_user_agent().as_str()))
        .respond_with(response)
        .expect(1)
        .mount(&server)
        .await;
    let url = at(&server, "/news");
    let page = page(&fetcher(settings()), &request(&url)).await;
    assert_eq!(page.url, url);
    assert_eq!(page.bytes, b"<p>hello</p>");
    assert_eq!(page.text(), "<p>hello</p>");
    assert_eq!(page.content_type.as_deref(), Some("text/html; charset=utf-8"));
    assert_eq!(page.etag.as_deref(), Some("\"abc\""));
    assert_eq!(page.last_modified.as_deref(), Some("Tue, 03 Mar 2026 10:00:00 GMT"));
}

#[tokio::test]
async fn page_url_is_the_url_after_redirects() {
    let server = MockServer::start().await;
    mount(&server, "/old", ResponseTemplate::new(301).insert_header("location", "/new"), 1).await;
    mount(&server, "/new", ok("moved"), 1).await;
    let url = at(&server, "/old");
    let page = page(&fetcher(settings()), &request(&url)).await;
    assert_eq!(page.url, at(&server, "/new"));
    assert_eq!(page.bytes, b"moved");
}

#[tokio::test]
async fn redirect_loop_is_too_many_redirects() {
    let server = MockServer::start().await;
    let to = |target: &str| ResponseTemplate::new(302).insert_header("location", target);
    Mock::given(path("/a")).respond_with(to("/b")).mount(&server).await;
    Mock::given(path("/b")).respond_with(to("/a")).mount(&server).await;
    let url = at(&server, "/a");
    let fetcher = fetcher(FetchSettings { max_redirects: 3, ..settings() });
    let error = fetcher.fetch(&request(&url)).await.unwrap_err();
    assert!(matches!(error, FetchError::TooManyRedirects { limit: 3, .. }), "{error:?}");
}

// ---- compression ----

async fn compressed_page(encoding: &str, body: Vec<u8>) -> Page {
    let server = MockServer::start().await;
    let response = ResponseTemplate::new(200).insert_header("content-encoding", encoding).set_body_bytes(body);
    mount(&server, "/z", response, 1).await;
    let url = at(&server, "/z");
    page(&fetcher(settings()), &request(&url)).await
}

const PLAIN: &str = "<p>compressed news, compressed news, compressed news</p>";

#[tokio::test]
async fn gzip_body_is_decompressed() {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(PLAIN.as_bytes()).unwrap();
    let page = compressed_page("gzip", encoder.finish().unwrap()).await;
    assert_eq!(page.text(), PLAIN);
}

#[tokio::test]
async fn deflate_body_is_decompressed() {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(PLAIN.as_bytes()).unwrap();
    let page = compressed_page("deflate", encoder.finish().unwrap()).await;
    assert_eq!(page.text(), PLAIN);
}

#[tokio::test]
async fn brotli_body_is_decompressed() {
    let mut compressed = Vec::new();
    {
        let mut encoder = brotli::CompressorWriter::new(&mut compressed, 4096, 5, 22);
        encoder.write_all(PLAIN.as_bytes()).unwrap();
    }
    let page = compressed_page("br", compressed).await;
    assert_eq!(page.text(), PLAIN);
}

// ---- size limits ----

#[tokio::test]
async fn body_over_the_limit_is_too_large() {
    let server = MockServer::start().await;
    mount(&server, "/big", ok(&"x".repeat(100)), 1).await;
    let url = at(&server, "/big");
    let fetcher = fetcher(FetchSettings { max_body: 99, ..settings() });
    let error = fetcher.fetch(&request(&url)).await.unwrap_err();
    assert!(matches!(error, FetchError::TooLarge { limit: 99, .. }), "{error:?}");
}

#[tokio::test]
async fn declared_length_over_the_limit_fails_before_reading() {
    // The body never comes: only the Content-Length check can fail in time.
    let bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n".to_vec();
    let server = RawServer::start(Reply { delay: Duration::ZERO, bytes, hang: true }).await;
    let fetcher = fetcher(FetchSettings { max_body: 999, ..settings() });
    let error = fetcher.fetch(&request(&server.url)).await.unwrap_err();
    assert!(matches!(error, FetchError::TooLarge { limit: 999, .. }), "{error:?}");
}

#[tokio::test]
async fn body_at_the_limit_is_accepted() {
    let server = MockServer::start().await;
    mount(&server, "/exact", ok(&"x".repeat(100)), 1).await;
    let url = at(&server, "/exact");
    let fetcher = fetcher(FetchSettings { max_body: 100, ..settings() });
    assert_eq!(page(&fetcher, &request(&url)).await.bytes.len(), 100);
}

/// The start of a chunked response: its head and `chunks` chunks of 100 bytes,
/// without the final empty chunk.
fn chunked(chunks: usize) -> Vec<u8> {
    let mut response = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    for _ in 0..chunks {
        response.extend_from_slice(b"64\r\n");
        response.extend_from_slice(&[b'x'; 100]);
        response.extend_from_slice(b"\r\n");
    }
    response
}

#[tokio::test]
async fn streamed_body_over_the_limit_fails_as_soon_as_it_passes() {
    // Three chunks, then the server stalls: only a check while reading can fail in time.
    let server = RawServer::start(Reply { delay: Duration::ZERO, bytes: chunked(3), hang: true }).await;
    let fetcher = fetcher(FetchSettings { max_body: 250, ..settings() });
    let error = fetcher.fetch(&request(&server.url)).await.unwrap_err();
    assert!(matches!(error, FetchError::TooLarge { limit: 250, .. }), "{error:?}");
}

#[tokio::test]
async fn streamed_body_within_the_limit_is_read() {
    let mut bytes = chunked(3);
    bytes.extend_from_slice(b"0\r\n\r\n");
    let server = RawServer::start(Reply { delay: Duration::ZERO, bytes, hang: false }).await;
    let page = page(&fetcher(settings()), &request(&server.url)).await;
    assert_eq!(page.bytes.len(), 300);
}

// ---- timeouts and connection errors ----

#[tokio::test]
async fn silent_server_times_out_within_the_timeout() {
    let server = RawServer::start(Reply { delay: Duration::ZERO, bytes: Vec::new(), hang: true }).await;
    let req = Request { timeout: Duration::from_millis(400), ..request(&server.url) };
    let started = Instant::now();
    let error = fetcher(settings()).fetch(&req).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(390) && elapsed < Duration::from_millis(900), "{elapsed:?}");
    assert!(matches!(error, FetchError::Timeout { after, .. } if after == req.timeout), "{error:?}");
}

#[tokio::test]
async fn closed_port_is_a_connect_error_quickly() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    drop(listener);
    let started = Instant::now();
    let error = fetcher(settings()).fetch(&request(&url)).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    assert!(matches!(error, FetchError::Connect { .. }), "{error:?}");
}

// ---- file: and other schemes ----

#[tokio::test]
async fn file_url_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("saved.html");
    std::fs::write(&file, "<p>saved</p>").unwrap();
    let url = Url::from_file_path(&file).unwrap();
    let page = page(&fetcher(settings()), &request(&url)).await;
    assert_eq!(
        page,
        Page { url: url.clone(), bytes: b"<p>saved</p>".to_vec(), content_type: None, etag: None, last_modified: None }
    );
}

#[tokio::test]
async fn missing_file_names_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("absent.html");
    let url = Url::from_file_path(&file).unwrap();
    let error = fetcher(settings()).fetch(&request(&url)).await.unwrap_err();
    assert!(matches!(&error, FetchError::File { path, .. } if *path == file), "{error:?}");
    assert!(error.to_string().contains(&file.display().to_string()), "{error}");
}

#[tokio::test]
async fn other_schemes_are_refused() {
    let url = Url::parse("ftp://example.org/news").unwrap();
    let error = fetcher(settings()).fetch(&request(&url)).await.unwrap_err();
    assert!(matches!(error, FetchError::UnsupportedScheme { .. }), "{error:?}");
}

#[test]
fn invalid_user_agent_is_a_setup_error() {
    let settings = FetchSettings { user_agent: "bad\nagent".into(), ..settings() };
    assert!(matches!(Fetcher::new(settings), Err(FetchError::Setup { .. })));
}
