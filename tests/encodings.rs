//! Whole runs over listings served in legacy encodings: the charset comes from the
//! `Content-Type` header, a BOM or a `<meta>` tag, and published titles are
//! correct text. Decoding itself is tested in the fetch unit tests.

mod fetch_kit;

use fetch_kit::{Site, listing_source, report, site_table};
use octofeed::run::Status;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A one-item listing page whose title is `title`, in a `<meta>`-less page.
fn page(title: &str) -> String {
    fetch_kit::listing(&[(title, "/news/1")])
}

/// Serves `body` with `content_type`, runs, and returns the published title.
async fn published_title(body: Vec<u8>, content_type: &str) -> String {
    let server = MockServer::start().await;
    let response = ResponseTemplate::new(200).set_body_raw(body, content_type);
    Mock::given(path("/news")).respond_with(response).mount(&server).await;
    let source = listing_source("news", &format!("{}/news", server.uri()), "robots = false");
    let site = Site::new(&format!("{}{source}", site_table("")));
    let run = site.run().await;
    assert_eq!(report(&run, "news").status, Status::Ok, "{run:?}");
    let titles = site.titles("news");
    assert_eq!(titles.len(), 1, "{titles:?}");
    titles[0].clone()
}

#[tokio::test]
async fn iso_8859_1_from_the_header() {
    let html = page("Cybercriminalité : réunion à Genève");
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&html);
    assert!(!unmappable);
    let title = published_title(bytes.into_owned(), "text/html; charset=ISO-8859-1").await;
    assert_eq!(title, "Cybercriminalité : réunion à Genève");
}

#[tokio::test]
async fn windows_1252_curly_quotes_and_dashes() {
    let mut bytes = page("X").into_bytes();
    let at = bytes.iter().position(|&byte| byte == b'X').unwrap();
    bytes.splice(at..=at, b"\x93Octopus\x94 \x96 the project\x92s conference".iter().copied());
    let title = published_title(bytes, "text/html; charset=windows-1252").await;
    assert_eq!(title, "\u{201C}Octopus\u{201D} \u{2013} the project\u{2019}s conference");
}

#[tokio::test]
async fn utf16_with_a_bom_and_no_charset() {
    let text = page("Конференция «Octopus» — 2023");
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let title = published_title(bytes, "text/html").await;
    assert_eq!(title, "Конференция «Octopus» — 2023");
}

#[tokio::test]
async fn latin1_declared_by_meta_only() {
    let html = page("Vidéo : la Convention de Budapest expliquée")
        .replace("<head>", "<head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\">");
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&html);
    let title = published_title(bytes.into_owned(), "text/html").await;
    assert_eq!(title, "Vidéo : la Convention de Budapest expliquée");
}

#[tokio::test]
async fn invalid_bytes_never_fail_a_run() {
    let mut bytes = page("Broken X bytes").into_bytes();
    let at = bytes.iter().position(|&byte| byte == b'X').unwrap();
    bytes.splice(at..=at, [0xFF, 0xC3]);
    let title = published_title(bytes, "text/html; charset=utf-8").await;
    assert_eq!(title, "Broken \u{FFFD}\u{FFFD} bytes");
}
