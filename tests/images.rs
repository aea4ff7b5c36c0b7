//! Images reach readers and newsletters: every item image is an absolute URL in
//! every format (relative `src`, lazy `data-src`), and RSS carries it as
//! `media:content` (what Mailchimp shows) and `media:thumbnail`.

mod fetch_kit;

use fetch_kit::{Site, site_table};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn relative_and_lazy_images_are_absolute_in_every_format() {
    let server = MockServer::start().await;
    let page = r#"<ul>
        <li class="news"><h3><a href="/one">One</a></h3><img src="img/one.png"></li>
        <li class="news"><h3><a href="/two">Two</a></h3><img src="data:image/gif;base64,R0lG" data-src="/lazy/two.png"></li>
        </ul>"#;
    Mock::given(path("/news/")).respond_with(ResponseTemplate::new(200).set_body_string(page)).mount(&server).await;
    let source = format!(
        "[[source]]\nid = \"pics\"\nurl = \"{}/news/\"\nrobots = false\n\
         [source.select]\nitem = \"li.news\"\ntitle = \"h3\"\nlink = \"h3 a\"\nimage = \"img\"\n",
        server.uri()
    );
    let site = Site::new(&format!("{}{source}", site_table("")));
    site.run().await;
    let (one, two) = (format!("{}/news/img/one.png", server.uri()), format!("{}/lazy/two.png", server.uri()));
    let json = site.json_feed("pics");
    let images: Vec<&str> =
        json["items"].as_array().expect("items").iter().filter_map(|item| item["image"].as_str()).collect();
    assert_eq!(images.len(), 2);
    assert!(images.contains(&one.as_str()) && images.contains(&two.as_str()), "{images:?}");
    let rss = site.published("pics/rss.xml");
    for image in [&one, &two] {
        assert!(rss.contains(&format!("<media:content medium=\"image\" url=\"{image}\">")), "{rss}");
        assert!(rss.contains(&format!("<media:thumbnail url=\"{image}\">")), "{rss}");
        assert!(site.published("pics/atom.xml").contains(image.as_str()));
    }
}
