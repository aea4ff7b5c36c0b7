//! Pagination (`[source.paginate]`): `next` is followed up to `max_pages`, no URL
//! is read twice in one run, undated items keep page order, and a later page
//! that fails is a warning while the pages before it still count.

mod fetch_kit;

use fetch_kit::{Site, listing_source, report, site_table};
use octofeed::run::Status;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A listing page with undated items titled `titles` and, if given, a "next" link.
fn page(titles: &[&str], next: Option<&str>) -> String {
    let items: String = titles
        .iter()
        .map(|title| {
            let slug = title.to_lowercase().replace(' ', "-");
            format!("<li class=\"news\"><h3><a href=\"/news/{slug}\">{title}</a></h3></li>")
        })
        .collect();
    let next = next.map(|href| format!("<a class=\"next\" href=\"{href}\">Next</a>")).unwrap_or_default();
    format!("<!doctype html><html><body><ul>{items}</ul><nav>{next}</nav></body></html>")
}

/// Serves `body` at `route`, expecting `calls` requests.
async fn serve(server: &MockServer, route: &str, body: String, calls: u64) {
    let response = ResponseTemplate::new(200).set_body_raw(body, "text/html");
    Mock::given(path(route)).respond_with(response).expect(calls).mount(server).await;
}

fn site(server: &MockServer, max_pages: usize) -> Site {
    let source = listing_source("news", &format!("{}/news", server.uri()), "robots = false");
    let paginate = format!("[source.paginate]\nnext = \"a.next\"\nmax_pages = {max_pages}\n");
    Site::new(&format!("{}{source}{paginate}", site_table("")))
}

#[tokio::test]
async fn next_is_followed_up_to_max_pages_in_page_order() {
    let server = MockServer::start().await;
    serve(&server, "/news", page(&["Alpha", "Bravo"], Some("/news/2")), 1).await;
    serve(&server, "/news/2", page(&["Charlie", "Delta"], Some("/news/3")), 1).await;
    serve(&server, "/news/3", page(&["Echo"], None), 0).await;
    let site = site(&server, 2);
    let run = site.run().await;
    assert_eq!(report(&run, "news").items_new, 4, "{run:?}");
    assert_eq!(site.titles("news"), ["Alpha", "Bravo", "Charlie", "Delta"]);
}

#[tokio::test]
async fn a_next_link_back_to_a_visited_page_ends_the_listing() {
    let server = MockServer::start().await;
    serve(&server, "/news", page(&["Alpha", "Bravo"], Some("/news/2")), 1).await;
    serve(&server, "/news/2", page(&["Charlie"], Some("/news/3")), 1).await;
    serve(&server, "/news/3", page(&["Delta"], Some("/news")), 1).await;
    let site = site(&server, 10);
    let run = site.run().await;
    assert_eq!(report(&run, "news").status, Status::Ok, "{run:?}");
    assert_eq!(site.titles("news"), ["Alpha", "Bravo", "Charlie", "Delta"]);
}

#[tokio::test]
async fn a_page_linking_to_itself_is_read_once() {
    let server = MockServer::start().await;
    serve(&server, "/news", page(&["Alpha"], Some("/news/2")), 1).await;
    serve(&server, "/news/2", page(&["Bravo"], Some("/news/2")), 1).await;
    let site = site(&server, 5);
    site.run().await;
    assert_eq!(site.titles("news"), ["Alpha", "Bravo"]);
}

#[tokio::test]
async fn a_failing_later_page_is_a_warning() {
    let server = MockServer::start().await;
    serve(&server, "/news", page(&["Alpha", "Bravo"], Some("/news/2")), 1).await;
    Mock::given(path("/news/2")).respond_with(ResponseTemplate::new(404)).expect(1).mount(&server).await;
    let site = site(&server, 3);
    let run = site.run().await;
    let news = report(&run, "news");
    assert_eq!(news.status, Status::Ok, "{run:?}");
    assert!(news.warnings.iter().any(|warning| warning.contains("page 2") && warning.contains("404")), "{news:?}");
    assert_eq!(site.titles("news"), ["Alpha", "Bravo"]);
}
