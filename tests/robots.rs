//! Whole runs as a good citizen: robots.txt is honoured by default and read once
//! per host, `robots = false` opts a source out, and every request carries the
//! configured User-Agent (or the default one naming octofeed and its home page).

mod fetch_kit;

use fetch_kit::{Site, failure, listing, listing_source, report, site_table};
use octofeed::run::Status;
use wiremock::matchers::{header, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn page() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_string(listing(&[("Octopus Conference", "/news/octopus")]))
}

async fn server_with_robots(robots: &str, robots_calls: u64) -> MockServer {
    let server = MockServer::start().await;
    let response = ResponseTemplate::new(200).set_body_string(robots);
    Mock::given(path("/robots.txt")).respond_with(response).expect(robots_calls).mount(&server).await;
    server
}

const PRIVATE: &str = "User-agent: *\nDisallow: /private/\n";

#[tokio::test]
async fn robots_txt_is_honoured_by_default_and_read_once() {
    let server = server_with_robots(PRIVATE, 1).await;
    Mock::given(path("/private/news")).respond_with(page()).expect(0).mount(&server).await;
    Mock::given(path("/public/news")).respond_with(page()).expect(1).mount(&server).await;
    let sources = format!(
        "{}{}",
        listing_source("private", &format!("{}/private/news", server.uri()), ""),
        listing_source("public", &format!("{}/public/news", server.uri()), "")
    );
    let site = Site::new(&format!("{}{sources}", site_table("")));
    let run = site.run().await;
    let error = failure(&run, "private");
    assert!(error.contains("robots.txt") && error.contains("/private/news"), "{error}");
    assert_eq!(report(&run, "public").status, Status::Ok, "{run:?}");
}

#[tokio::test]
async fn robots_false_opts_out() {
    let server = server_with_robots("User-agent: *\nDisallow: /\n", 0).await;
    Mock::given(path("/private/news")).respond_with(page()).expect(1).mount(&server).await;
    let source = listing_source("private", &format!("{}/private/news", server.uri()), "robots = false");
    let site = Site::new(&format!("{}{source}", site_table("")));
    let run = site.run().await;
    assert_eq!(report(&run, "private").status, Status::Ok, "{run:?}");
    assert_eq!(site.titles("private"), ["Octopus Conference"]);
}

#[tokio::test]
async fn a_group_for_octofeed_applies_to_the_default_agent() {
    let server = server_with_robots("User-agent: *\nAllow: /\n\nUser-agent: octofeed\nDisallow: /news\n", 1).await;
    Mock::given(path("/news")).respond_with(page()).expect(0).mount(&server).await;
    let source = listing_source("news", &format!("{}/news", server.uri()), "");
    let site = Site::new(&format!("{}{source}", site_table("")));
    assert!(failure(&site.run().await, "news").contains("robots.txt"));
}

#[tokio::test]
async fn default_user_agent_names_octofeed_its_version_and_home_page() {
    let server = server_with_robots("", 1).await;
    let expected = format!("octofeed/{} (+https://github.com/octofeed/octofeed)", env!("CARGO_PKG_VERSION"));
    Mock::given(path("/news"))
        .and(header("user-agent", expected.as_str()))
        .respond_with(page())
        .expect(1)
        .mount(&server)
        .await;
    let source = listing_source("news", &format!("{}/news", server.uri()), "");
    let site = Site::new(&format!("{}{source}", site_table("")));
    let run = site.run().await;
    assert_eq!(report(&run, "news").status, Status::Ok, "{run:?}");
    let robots_request = &server.received_requests().await.unwrap()[0];
    assert_eq!(robots_request.url.path(), "/robots.txt");
    assert_eq!(robots_request.headers.get("user-agent").unwrap().to_str().unwrap(), expected);
}

#[tokio::test]
async fn configured_user_agent_is_sent() {
    let server = MockServer::start().await;
    let agent = "octofeed (+https://feeds.example.org/about)";
    Mock::given(path("/news")).and(header("user-agent", agent)).respond_with(page()).expect(1).mount(&server).await;
    let source = listing_source("news", &format!("{}/news", server.uri()), "robots = false");
    let site = Site::new(&format!("{}{source}", site_table(&format!("user_agent = \"{agent}\""))));
    let run = site.run().await;
    assert_eq!(report(&run, "news").status, Status::Ok, "{run:?}");
}
