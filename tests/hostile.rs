//! Hostile pages and feeds: each test is an attack a page or feed could try
//! (reading local files, reaching private addresses, smuggling script URLs,
//! oversized or deeply nested content, a flood of entries) and checks that the
//! run refuses it, says so, and publishes nothing of it. Local servers only.

mod common;
mod fetch_kit;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use fetch_kit::{Site, failure, report, site_table};
use octofeed::run::Status;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// An html source whose items are `li.news` with `h3 a` links, `extra` lines in its table.
fn source(id: &str, url: &str, extra: &str) -> String {
    format!(
        "[[source]]\nid = \"{id}\"\nurl = \"{url}\"\nrobots = false\n{extra}\n\
         [source.select]\nitem = \"li.news\"\ntitle = \"h3\"\nlink = \"h3 a\"\ncontent = \".body\"\n"
    )
}

fn page(head: &str, items: &str) -> String {
    format!("<!doctype html><html><head>{head}</head><body><ul>{items}</ul></body></html>")
}

fn item(title: &str, href: &str) -> String {
    format!("<li class=\"news\"><h3><a href=\"{href}\">{title}</a></h3><div class=\"body\"><p>{title}</p></div></li>")
}

async fn serve(server: &MockServer, route: &str, body: String) {
    Mock::given(path(route)).respond_with(ResponseTemplate::new(200).set_body_string(body)).mount(server).await;
}

async fn redirect(server: &MockServer, route: &str, to: &str) {
    Mock::given(path(route)).respond_with(ResponseTemplate::new(302).insert_header("Location", to)).mount(server).await;
}

/// Every file `run` published, concatenated: what a subscriber could see.
fn everything_published(site: &Site) -> String {
    let public = site.dir.path().join("public");
    let files = common::files_under(&public);
    files.iter().map(|file| std::fs::read_to_string(public.join(file)).expect("a published file")).collect()
}

/// A site whose one source, `saved`, reads the first of `pages` (file name, HTML)
/// saved together in a folder of their own (returned, to keep), with `tables` added.
fn saved_site(pages: &[(&str, String)], tables: &str) -> (tempfile::TempDir, Site) {
    let folder = tempfile::tempdir().expect("a folder");
    for (name, html) in pages {
        std::fs::write(folder.path().join(name), html).expect("a saved page");
    }
    let first = folder.path().join(pages[0].0);
    let toml = format!("{}{}{tables}", site_table(""), source("saved", &format!("file:{}", first.display()), ""));
    (folder, Site::new(&toml))
}

/// A TCP listener on `address` that counts the connections it is offered and answers none.
fn counting_listener(address: &str) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind(address).expect("a local port");
    let port = listener.local_addr().expect("an address").port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (port, connections)
}

#[tokio::test]
async fn an_article_link_to_etc_passwd_on_a_saved_page_is_refused() {
    let pages = [("listing.html", page("", &item("Leak", "file:///etc/passwd")))];
    let (_pages, site) = saved_site(&pages, "[source.detail]\ncontent = \"body\"\n");
    let run = site.run().await;
    let saved = report(&run, "saved");
    assert_eq!(saved.status, Status::Ok, "{saved:?}");
    let warning = saved.warnings.join("\n");
    assert!(warning.contains("file:///etc/passwd") && warning.contains("local files"), "{warning}");
    let published = everything_published(&site);
    assert!(!published.contains("root:x:0"), "the local file was published");
    assert!(!published.contains("file:///etc/passwd"), "a file: URL was published");
}

#[tokio::test]
async fn a_file_link_on_a_web_page_is_never_followed_or_published() {
    let server = MockServer::start().await;
    let items = item("Leak", "file:///etc/passwd") + &item("Zero", "file:///dev/zero");
    let next = "<a class=\"next\" href=\"file:///dev/zero\">next</a>";
    serve(&server, "/news", page("", &items) + next).await;
    let toml = format!(
        "{}{}[source.detail]\ncontent = \"body\"\n[source.paginate]\nnext = \"a.next\"\n",
        site_table("max_body = \"1MiB\""),
        source("web", &format!("{}/news", server.uri()), "")
    );
    let site = Site::new(&toml);
    let run = site.run().await;
    assert_eq!(report(&run, "web").status, Status::Ok, "{run:?}");
    let published = everything_published(&site);
    assert!(!published.contains("file:///"), "a file: URL was published");
    assert!(!published.contains("root:x:0"));
}

#[tokio::test]
async fn a_next_page_to_dev_zero_from_a_saved_page_is_refused() {
    let body =
        page("", &item("One", "https://news.example.org/one")) + "<a class=\"next\" href=\"file:///dev/zero\">next</a>";
    let (_pages, site) = saved_site(&[("listing.html", body)], "[source.paginate]\nnext = \"a.next\"\n");
    let run = site.run().await;
    let saved = report(&run, "saved");
    assert_eq!(saved.status, Status::Ok, "{saved:?}");
    assert!(saved.warnings.join("\n").contains("file:///dev/zero"), "{:?}", saved.warnings);
    assert_eq!(site.titles("saved"), ["One"]);
}

#[tokio::test]
async fn a_saved_page_may_continue_on_a_saved_page_beside_it() {
    let first =
        page("", &item("One", "https://news.example.org/one")) + "<a class=\"next\" href=\"page-2.html\">next</a>";
    let second = page("", &item("Two", "https://news.example.org/two"));
    let pages = [("listing.html", first), ("page-2.html", second)];
    let (_pages, site) = saved_site(&pages, "[source.paginate]\nnext = \"a.next\"\n");
    let run = site.run().await;
    assert_eq!(report(&run, "saved").warnings, Vec::<String>::new());
    assert_eq!(site.titles("saved"), ["One", "Two"]);
}

#[tokio::test]
async fn a_redirect_to_a_file_url_is_refused_and_says_so() {
    let server = MockServer::start().await;
    redirect(&server, "/news", "file:///etc/passwd").await;
    let site = Site::new(&format!("{}{}", site_table(""), source("web", &format!("{}/news", server.uri()), "")));
    let error = failure(&site.run().await, "web");
    assert!(error.contains("redirected to file:///etc/passwd"), "{error}");
    assert!(!error.contains("HTTP status 302"), "{error}");
}

#[tokio::test]
async fn a_redirect_to_cloud_metadata_is_refused_without_connecting() {
    let server = MockServer::start().await;
    redirect(&server, "/news", "http://169.254.169.254/latest/meta-data/").await;
    let site = Site::new(&format!("{}{}", site_table(""), source("web", &format!("{}/news", server.uri()), "")));
    let error = failure(&site.run().await, "web");
    assert!(error.contains("169.254.169.254") && error.contains("non-public"), "{error}");
    assert!(error.contains("allow_private"), "the error says how to allow it: {error}");
}

#[tokio::test]
async fn a_redirect_to_another_loopback_address_is_refused_and_never_connected() {
    let (port, connections) = counting_listener("127.0.0.2:0");
    let server = MockServer::start().await;
    redirect(&server, "/news", &format!("http://127.0.0.2:{port}/secret")).await;
    let site = Site::new(&format!("{}{}", site_table(""), source("web", &format!("{}/news", server.uri()), "")));
    let error = failure(&site.run().await, "web");
    assert!(error.contains("127.0.0.2"), "{error}");
    assert_eq!(connections.load(Ordering::SeqCst), 0, "127.0.0.2 was connected to");
}

#[tokio::test]
async fn an_article_on_a_host_name_that_resolves_to_loopback_is_refused_at_connect_time() {
    let (port, connections) = counting_listener("127.0.0.1:0");
    let server = MockServer::start().await;
    // `localhost` is a name: only its resolved address tells it is loopback.
    let article = format!("http://localhost:{port}/admin");
    serve(&server, "/news", page("", &item("Internal", &article))).await;
    let toml = format!(
        "{}{}[source.detail]\ncontent = \"body\"\n",
        site_table(""),
        source("web", &format!("{}/news", server.uri()), "")
    );
    let site = Site::new(&toml);
    let run = site.run().await;
    let web = report(&run, "web");
    assert_eq!(web.status, Status::Ok);
    let warning = web.warnings.join("\n");
    assert!(warning.contains("localhost") && warning.contains("non-public"), "{warning}");
    assert_eq!(connections.load(Ordering::SeqCst), 0, "the loopback service was connected to");
}

#[tokio::test]
async fn allow_private_lets_an_intranet_page_link_to_another_intranet_host() {
    let article_server = MockServer::start().await;
    serve(&article_server, "/article", "<html><body><main>Full intranet text</main></body></html>".into()).await;
    let article = article_server.uri().replace("127.0.0.1", "localhost") + "/article";
    let server = MockServer::start().await;
    serve(&server, "/news", page("", &item("Internal", &article))).await;
    let toml = format!(
        "{}{}[source.detail]\ncontent = \"main\"\n",
        site_table("allow_private = true"),
        source("web", &format!("{}/news", server.uri()), "")
    );
    let site = Site::new(&toml);
    let run = site.run().await;
    assert_eq!(report(&run, "web").warnings, Vec::<String>::new());
    assert!(site.published("web/feed.json").contains("Full intranet text"));
}

#[tokio::test]
async fn a_javascript_base_href_cannot_put_a_script_url_into_content() {
    let server = MockServer::start().await;
    let body = page(
        r#"<base href="javascript://%0Aalert(1)//">"#,
        r#"<li class="news"><h3><a href="https://news.example.org/a">A</a></h3><div class="body"><a href="next">more</a><img src="x.png"></div></li>"#,
    );
    serve(&server, "/news", body).await;
    let site = Site::new(&format!("{}{}", site_table(""), source("web", &format!("{}/news", server.uri()), "")));
    site.run().await;
    let published = everything_published(&site);
    assert!(!published.to_ascii_lowercase().contains("javascript"), "a script URL was published");
    assert!(
        site.published("web/feed.json").contains(&format!("{}/next", server.uri())),
        "links resolve against the page"
    );
}

#[tokio::test]
async fn feed_urls_that_are_not_http_are_dropped_from_every_format() {
    let server = MockServer::start().await;
    let rss = r#"<?xml version="1.0"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"
        xml:base="javascript://%0Aalert(1)//"><channel><title>T</title><link>https://news.example.org/</link>
        <item><title>Episode</title><link>https://news.example.org/1</link><guid>https://news.example.org/1</guid>
        <description>&lt;a href="rel"&gt;rel&lt;/a&gt;</description>
        <enclosure url="javascript:alert(1)" type="audio/mpeg" length="1"/>
        <media:thumbnail url="javascript:alert(2)"/></item></channel></rss>"#;
    let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[{"id":"https://news.example.org/j",
        "url":"https://news.example.org/j","title":"Json item","image":"javascript:alert(3)",
        "attachments":[{"url":"javascript:alert(4)","mime_type":"audio/mpeg"},{"url":"https://news.example.org/a.mp3","mime_type":"audio/mpeg"}]}]}"#;
    serve(&server, "/rss.xml", rss.into()).await;
    serve(&server, "/feed.json", json.into()).await;
    let feed = |id: &str, route: &str| {
        format!("[[source]]\nid = \"{id}\"\nurl = \"{}{route}\"\nkind = \"feed\"\nrobots = false\n", server.uri())
    };
    let site = Site::new(&format!("{}{}{}", site_table(""), feed("rss", "/rss.xml"), feed("json", "/feed.json")));
    let run = site.run().await;
    for id in ["rss", "json"] {
        let source = report(&run, id);
        assert_eq!(source.status, Status::Ok, "{source:?}");
        assert!(source.warnings.iter().any(|w| w.contains("only http(s) URLs")), "{:?}", source.warnings);
    }
    let published = everything_published(&site);
    assert!(!published.to_ascii_lowercase().contains("javascript"), "a script URL was published");
    assert!(site.published("json/feed.json").contains("https://news.example.org/a.mp3"), "the web attachment stays");
}

#[tokio::test]
async fn a_ten_megabyte_title_is_capped_and_bidi_overrides_removed() {
    let server = MockServer::start().await;
    let title = format!("\u{202E}fdp.exe {}", "A".repeat(10_000_000));
    serve(&server, "/news", page("", &item(&title, "https://news.example.org/big"))).await;
    let site = Site::new(&format!(
        "{}{}",
        site_table("max_body = \"50MiB\""),
        source("web", &format!("{}/news", server.uri()), "")
    ));
    let run = site.run().await;
    assert_eq!(report(&run, "web").status, Status::Ok);
    let titles = site.titles("web");
    assert_eq!(titles[0].chars().count(), octofeed::hygiene::MAX_TITLE_CHARS);
    assert!(!titles[0].contains('\u{202E}'));
    let index = site.published("index.html");
    assert!(index.len() < 200_000, "index.html is {} bytes", index.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_entry_feed_does_not_starve_a_healthy_source_on_its_host() {
    let server = MockServer::start().await;
    let entries: String = (0..100_000)
        .map(|n| format!("<item><title>Entry {n}</title><link>https://flood.example.org/{n}</link></item>"))
        .collect();
    let flood =
        format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Flood</title>{entries}</channel></rss>");
    serve(&server, "/flood.xml", flood).await;
    serve(&server, "/news", page("", &item("Healthy", "https://news.example.org/healthy"))).await;
    let toml = format!(
        "{}[[source]]\nid = \"flood\"\nurl = \"{}/flood.xml\"\nkind = \"feed\"\nrobots = false\n{}",
        site_table("max_body = \"100MiB\"\nper_host = 2"),
        server.uri(),
        source("healthy", &format!("{}/news", server.uri()), "timeout = \"20s\"")
    );
    let site = Site::new(&toml);
    let run = site.run().await;
    assert_eq!(report(&run, "healthy").status, Status::Ok, "{:?}", report(&run, "healthy"));
    let flood = report(&run, "flood");
    assert_eq!(flood.status, Status::Ok, "{flood:?}");
    assert_eq!(flood.items_seen, octofeed::config::DEFAULT_MAX_ITEMS_PER_PAGE);
    assert!(flood.warnings.iter().any(|w| w.contains("100000 entries")), "{:?}", flood.warnings);
}

#[tokio::test]
async fn a_page_nested_a_hundred_thousand_levels_deep_is_flattened_not_hung() {
    let server = MockServer::start().await;
    let depth = 100_000;
    let nested =
        format!("{}{}{}", "<div>".repeat(depth), item("Deep", "https://news.example.org/deep"), "</div>".repeat(depth));
    serve(&server, "/news", page("", &(item("Top", "https://news.example.org/top") + &nested))).await;
    let site = Site::new(&format!("{}{}", site_table(""), source("web", &format!("{}/news", server.uri()), "")));
    let run = site.run().await;
    let web = report(&run, "web");
    assert_eq!(web.status, Status::Ok, "{web:?}");
    assert!(web.warnings.iter().any(|w| w.contains("deeper than 512")), "{:?}", web.warnings);
    assert!(site.titles("web").contains(&"Top".to_string()));
}

/// A server that accepts connections on 127.0.0.1, reads what the client sends
/// first, answers with `response`, and counts the connections.
fn answering_listener(response: Vec<u8>) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a local port");
    let port = listener.local_addr().expect("an address").port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(&response);
        }
    });
    (port, connections)
}

#[tokio::test]
async fn a_tls_failure_is_one_clear_error_and_is_not_retried() {
    let (port, connections) = answering_listener(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".to_vec());
    let url = format!("https://127.0.0.1:{port}/news");
    let site = Site::new(&format!("{}{}", site_table("retries = 3"), source("tls", &url, "")));
    let error = failure(&site.run().await, "tls");
    assert!(error.starts_with("the TLS connection to"), "{error}");
    assert_eq!(error.lines().count(), 1, "{error}");
    assert_eq!(connections.load(Ordering::SeqCst), 1, "a TLS failure was retried");
}

#[tokio::test]
async fn a_response_head_too_large_is_refused_and_not_retried() {
    let mut response = b"HTTP/1.1 200 OK\r\n".to_vec();
    for n in 0..20_000 {
        response.extend_from_slice(format!("x-filler-{n}: {}\r\n", "y".repeat(40)).as_bytes());
    }
    response.extend_from_slice(b"content-length: 2\r\n\r\nok");
    let (port, connections) = answering_listener(response);
    let url = format!("http://127.0.0.1:{port}/news");
    let site = Site::new(&format!("{}{}", site_table("retries = 3"), source("head", &url, "")));
    let error = failure(&site.run().await, "head");
    assert!(error.contains("response headers larger"), "{error}");
    assert_eq!(connections.load(Ordering::SeqCst), 1, "an oversized head was retried");
}
