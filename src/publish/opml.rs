//! Publish stage, `feeds.opml` (OPML 2.0): the subscription list of every
//! published feed, written with the `opml` crate.
//!
//! Pure: no I/O, no clock (so no `dateCreated`). Each feed's `xmlUrl` is its RSS
//! file, absolute when the site has a `base_url`, else relative to the OPML file.

use opml::{Body, Head, OPML, Outline};

use super::index::FeedListing;
use super::{RSS_FILE, xml_safe};

/// Renders `feeds.opml`: one `type="rss"` outline per feed, in the order given.
pub fn render(site_title: &str, feeds: &[FeedListing]) -> String {
    let document = OPML {
        version: "2.0".to_owned(),
        head: Some(Head { title: Some(xml_safe(site_title).into_owned()), ..Head::default() }),
        body: Body { outlines: feeds.iter().map(outline).collect() },
    };
    let xml = document.to_string().expect("writing OPML into a String cannot fail");
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}\n", one_element_a_line(&xml))
}

/// Breaks the crate's one-line output before each structural tag. Safe because the
/// crate escapes `<` and `>` in every text and attribute value.
fn one_element_a_line(xml: &str) -> String {
    xml.replace("><head>", ">\n<head>")
        .replace("><body>", ">\n<body>")
        .replace("><body/>", ">\n<body/>")
        .replace("><outline ", ">\n  <outline ")
        .replace("></body>", ">\n</body>")
        .replace("></opml>", ">\n</opml>")
}

fn outline(feed: &FeedListing) -> Outline {
    let meta = &feed.doc.meta;
    let title = xml_safe(&meta.title).into_owned();
    let xml_url = meta.file_url(RSS_FILE).unwrap_or_else(|| format!("{}/{RSS_FILE}", meta.id));
    Outline {
        text: title.clone(),
        title: Some(title),
        r#type: Some("rss".to_owned()),
        version: Some("RSS2".to_owned()),
        xml_url: Some(xml_safe(&xml_url).into_owned()),
        html_url: Some(xml_safe(&meta.home_page_url).into_owned()).filter(|url| !url.is_empty()),
        description: Some(xml_safe(meta.description.trim()).into_owned()).filter(|text| !text.is_empty()),
        language: meta.language.as_deref().map(|l| xml_safe(l).into_owned()),
        category: feed.is_channel.then(|| "/channel".to_owned()),
        ..Outline::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::tests::{BASE_URL, channel_doc, sample_doc};

    fn parse(base_url: Option<&str>) -> OPML {
        let (source, channel) = (sample_doc(base_url), channel_doc(base_url));
        let feeds = [FeedListing { doc: &source, is_channel: false }, FeedListing { doc: &channel, is_channel: true }];
        let xml = render("Sites & <feeds>\u{1}", &feeds);
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n"));
        OPML::from_str(&xml).expect("the opml crate reads our OPML")
    }

    #[test]
    fn one_rss_outline_per_feed_with_absolute_urls() {
        let opml = parse(Some(BASE_URL));
        assert_eq!(opml.version, "2.0");
        assert_eq!(opml.head.unwrap().title.as_deref(), Some("Sites & <feeds>"));
        let outlines = &opml.body.outlines;
        assert_eq!(outlines.len(), 2);
        assert_eq!(outlines[0].text, "Octopus Project: activities");
        assert_eq!(outlines[0].title.as_deref(), Some("Octopus Project: activities"));
        assert_eq!(outlines[0].r#type.as_deref(), Some("rss"));
        assert_eq!(outlines[0].xml_url.as_deref(), Some("https://feeds.example.org/octopus/rss.xml"));
        assert_eq!(outlines[0].html_url.as_deref(), Some("https://www.coe.int/en/web/cybercrime/octopus-project"));
        assert_eq!(outlines[1].xml_url.as_deref(), Some("https://feeds.example.org/cybercrime/rss.xml"));
        assert_eq!(outlines[1].category.as_deref(), Some("/channel"));
        assert_eq!(outlines[0].category, None);
    }

    #[test]
    fn without_base_url_xml_urls_are_relative() {
        let opml = parse(None);
        let urls: Vec<_> = opml.body.outlines.iter().map(|o| o.xml_url.as_deref()).collect();
        assert_eq!(urls, [Some("octopus/rss.xml"), Some("cybercrime/rss.xml")]);
    }

    #[test]
    fn same_feeds_same_bytes_one_outline_a_line() {
        let doc = sample_doc(None);
        let feeds = [FeedListing { doc: &doc, is_channel: false }];
        let xml = render("Site", &feeds);
        assert_eq!(xml, render("Site", &feeds));
        assert_eq!(xml.lines().filter(|l| l.starts_with("  <outline ")).count(), 1, "{xml}");
    }
}
