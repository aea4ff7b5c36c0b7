//! Fetch stage tests against local servers (wiremock, or a raw TCP server for
//! chunked bodies, hangs and concurrency counts); nothing here touches the internet.

mod exchange;
mod politeness;
mod raw;
mod retries;

use std::time::Duration;

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

fn settings() -> FetchSettings {
    FetchSettings {
        host_delay: Duration::ZERO,
        connect_timeout: Duration::from_secs(2),
        backoff_base: Duration::from_millis(10),
        retry_after_cap: Duration::from_secs(2),
        ..FetchSettings::default()
    }
}

fn fetcher(settings: FetchSettings) -> Fetcher {
    Fetcher::new(settings).unwrap()
}

fn request(url: &Url) -> Request<'_> {
    Request {
        url,
        etag: None,
        last_modified: None,
        timeout: Duration::from_secs(5),
        robots: false,
        origin: Origin::Config,
    }
}

fn at(server: &MockServer, path: &str) -> Url {
    Url::parse(&server.uri()).unwrap().join(path).unwrap()
}

async fn page(fetcher: &Fetcher, req: &Request<'_>) -> Page {
    match fetcher.fetch(req).await {
        Ok(Fetched::Page(page)) => page,
        other => panic!("expected a page, got {other:?}"),
    }
}

fn ok(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_string(body)
}

async fn mount(server: &MockServer, route: &str, response: ResponseTemplate, calls: u64) {
    Mock::given(method("GET")).and(path(route)).respond_with(response).expect(calls).mount(server).await;
}
