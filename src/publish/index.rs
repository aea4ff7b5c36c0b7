//! Publish stage, `index.html`: one readable page listing every feed, its three
//! files and its newest items.
//!
//! Pure: no I/O, no clock, no scripts or outside assets; links to the feed files
//! are relative, so the output folder works wherever it is served.

use std::fmt::{self, Write};

use crate::hygiene::is_web_url_text;

use super::{RSS_FILE, escape_html, plain_summary, rfc3339, rfc3339_in};
use crate::model::{FeedDoc, FeedEntry};

/// How many of each feed's newest items the page shows.
const ITEMS_SHOWN: usize = 10;

const STYLE: &str = "\
body{font:16px/1.5 system-ui,sans-serif;max-width:52rem;margin:0 auto;padding:1rem;color:#222;background:#fff}
a{color:#0645ad}
header{border-bottom:2px solid #ddd;margin-bottom:1rem}
nav ul{padding-left:1.2rem}
section{border-bottom:1px solid #eee;padding-bottom:1rem;margin-bottom:1.5rem}
h2{margin-bottom:.2rem}
.kind{font-size:.75rem;font-weight:normal;text-transform:uppercase;letter-spacing:.05em;background:#eef;border-radius:.3rem;padding:.1rem .4rem;vertical-align:middle}
.meta{color:#666;font-size:.9rem}
ol{padding-left:1.2rem}
li{margin-bottom:.7rem}
li p{margin:.2rem 0 0}
@media (prefers-color-scheme:dark){body{color:#ddd;background:#111}a{color:#8ab4f8}.kind{background:#334}.meta{color:#aaa}}
";

/// One feed as the index and the OPML list show it.
#[derive(Debug, Clone, Copy)]
pub struct FeedListing<'a> {
    pub doc: &'a FeedDoc,
    /// Whether the feed is a channel (aggregates several sources).
    pub is_channel: bool,
}

/// Renders `index.html`: every feed in the order given, with links to its
/// RSS, Atom and JSON Feed files and its newest items.
pub fn render(site_title: &str, feeds: &[FeedListing]) -> String {
    let mut html = String::new();
    page(&mut html, site_title, feeds).expect("writing into a String cannot fail");
    html
}

fn page(html: &mut String, site_title: &str, feeds: &[FeedListing]) -> fmt::Result {
    head(html, site_title, feeds)?;
    html.push_str("<body>\n<header>\n");
    writeln!(html, "<h1>{}</h1>", escape_html(site_title))?;
    writeln!(
        html,
        "<p class=\"meta\">{} — subscribe to any of them in a feed reader, \
         or to all at once with <a href=\"feeds.opml\">feeds.opml</a>.</p>",
        count(feeds.len(), "feed")
    )?;
    html.push_str("</header>\n");
    contents(html, feeds)?;
    html.push_str("<main>\n");
    for feed in feeds {
        section(html, feed)?;
    }
    html.push_str("</main>\n</body>\n</html>\n");
    Ok(())
}

fn head(html: &mut String, site_title: &str, feeds: &[FeedListing]) -> fmt::Result {
    html.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    html.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    html.push_str("<meta name=\"generator\" content=\"octofeed\">\n");
    writeln!(html, "<title>{}</title>", escape_html(site_title))?;
    for feed in feeds {
        let meta = &feed.doc.meta;
        writeln!(
            html,
            "<link rel=\"alternate\" type=\"application/rss+xml\" title=\"{}\" href=\"{}\">",
            escape_html(&meta.title),
            escape_html(&relative(&meta.id, RSS_FILE))
        )?;
    }
    write!(html, "<style>\n{STYLE}</style>\n</head>\n")
}

fn contents(html: &mut String, feeds: &[FeedListing]) -> fmt::Result {
    if feeds.is_empty() {
        html.push_str("<p>No feeds are configured yet.</p>\n");
        return Ok(());
    }
    html.push_str("<nav>\n<ul>\n");
    for feed in feeds {
        let meta = &feed.doc.meta;
        writeln!(
            html,
            "<li><a href=\"#{}\">{}</a>{}</li>",
            escape_html(&anchor(&meta.id)),
            escape_html(&meta.title),
            if feed.is_channel { " (channel)" } else { "" }
        )?;
    }
    html.push_str("</ul>\n</nav>\n");
    Ok(())
}

fn section(html: &mut String, feed: &FeedListing) -> fmt::Result {
    let doc = feed.doc;
    let meta = &doc.meta;
    let lang = meta.language.as_deref().map(|lang| format!(" lang=\"{}\"", escape_html(lang)));
    writeln!(html, "<section id=\"{}\"{}>", escape_html(&anchor(&meta.id)), lang.unwrap_or_default())?;
    let kind = if feed.is_channel { " <span class=\"kind\">channel</span>" } else { "" };
    writeln!(html, "<h2>{}{kind}</h2>", escape_html(&meta.title))?;
    if !meta.description.trim().is_empty() {
        writeln!(html, "<p>{}</p>", escape_html(&meta.description))?;
    }
    files(html, doc)?;
    if doc.entries.is_empty() {
        html.push_str("<p class=\"meta\">No items yet.</p>\n");
    } else {
        html.push_str("<ol>\n");
        for entry in doc.entries.iter().take(ITEMS_SHOWN) {
            item(html, entry)?;
        }
        html.push_str("</ol>\n");
    }
    html.push_str("</section>\n");
    Ok(())
}

/// The feed's files (the newsletter feed too), its home page, and its item count.
fn files(html: &mut String, doc: &FeedDoc) -> fmt::Result {
    let meta = &doc.meta;
    html.push_str("<p class=\"files\">");
    for format in &super::FEED_FORMATS {
        write!(html, "<a href=\"{}\">{}</a> · ", escape_html(&relative(&meta.id, format.file)), format.label)?;
    }
    if is_web_url_text(&meta.home_page_url) {
        write!(html, "<a href=\"{}\">web page</a> · ", escape_html(&meta.home_page_url))?;
    }
    write!(html, "<span class=\"meta\">{}", count(doc.entries.len(), "item"))?;
    if !doc.entries.is_empty() {
        write!(html, ", updated {}", date(&rfc3339(meta.updated)))?;
    }
    html.push_str("</span></p>\n");
    Ok(())
}

fn item(html: &mut String, entry: &FeedEntry) -> fmt::Result {
    let item = &entry.item;
    html.push_str("<li>");
    if is_web_url_text(&item.link) {
        write!(html, "<a href=\"{}\">{}</a>", escape_html(&item.link), escape_html(&item.title))?;
    } else {
        html.push_str(&escape_html(&item.title));
    }
    // The source's own day: a date-only item is noon there.
    let published = rfc3339_in(entry.published, entry.timezone);
    write!(html, "<br><span class=\"meta\"><time datetime=\"{published}\">{}</time>", date(&published))?;
    if let Some(location) = item.location.as_deref().filter(|l| !l.trim().is_empty()) {
        write!(html, " · {}", escape_html(location))?;
    }
    if let Some(origin) = &entry.origin {
        write!(html, " · from {}", escape_html(&origin.title))?;
    }
    html.push_str("</span>");
    if let Some(summary) = plain_summary(item) {
        write!(html, "<p>{}</p>", escape_html(&summary))?;
    }
    html.push_str("</li>\n");
    Ok(())
}

/// `YYYY-MM-DD` of an RFC 3339 time.
fn date(rfc3339: &str) -> &str {
    rfc3339.get(..10).unwrap_or(rfc3339)
}

/// `1 feed`, `2 feeds`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// Path of a feed's file relative to the output folder.
fn relative(id: &str, file: &str) -> String {
    format!("{id}/{file}")
}

/// The `id` of a feed's section: feed ids are `[a-z0-9-]`, prefixed so they never
/// clash with other ids of the page.
fn anchor(id: &str) -> String {
    format!("feed-{id}")
}

#[cfg(test)]
mod tests {
    use scraper::{Html, Selector};

    use super::*;
    use crate::publish::tests::{BASE_URL, channel_doc, sample_doc};

    const SITE: &str = "Council of Europe — cybercrime <news>";

    fn texts(html: &Html, css: &str) -> Vec<String> {
        let selector = Selector::parse(css).unwrap();
        html.select(&selector).map(|e| e.text().collect::<String>()).collect()
    }

    fn attrs(html: &Html, css: &str, attr: &str) -> Vec<String> {
        let selector = Selector::parse(css).unwrap();
        html.select(&selector).filter_map(|e| e.value().attr(attr).map(str::to_owned)).collect()
    }

    fn page() -> String {
        let (source, channel) = (sample_doc(Some(BASE_URL)), channel_doc(Some(BASE_URL)));
        let feeds = [FeedListing { doc: &source, is_channel: false }, FeedListing { doc: &channel, is_channel: true }];
        render(SITE, &feeds)
    }

    #[test]
    fn lists_every_feed_with_its_four_relative_files() {
        let html = Html::parse_document(&page());
        assert_eq!(texts(&html, "title"), [SITE]);
        assert_eq!(texts(&html, "h1"), [SITE]);
        assert_eq!(
            texts(&html, "section h2"),
            ["Octopus Project: activities", "Council of Europe: all cybercrime news channel"]
        );
        assert_eq!(
            attrs(&html, "section .files a", "href")[..5],
            [
                "octopus/rss.xml",
                "octopus/atom.xml",
                "octopus/feed.json",
                "octopus/new.xml",
                "https://www.coe.int/en/web/cybercrime/octopus-project"
            ]
        );
        assert_eq!(attrs(&html, "link[rel=alternate]", "href"), ["octopus/rss.xml", "cybercrime/rss.xml"]);
        assert_eq!(attrs(&html, "nav a", "href"), ["#feed-octopus", "#feed-cybercrime"]);
        assert_eq!(attrs(&html, "section", "id"), ["feed-octopus", "feed-cybercrime"]);
    }

    #[test]
    fn items_show_title_link_date_location_summary_and_origin() {
        let html = Html::parse_document(&page());
        let titles = texts(&html, "#feed-octopus li > a");
        assert_eq!(titles[1], "Budget < 5 M€ for 2024 & beyond");
        assert_eq!(texts(&html, "#feed-octopus time"), ["2023-12-13", "2023-11-02", "2021-11-01"]);
        let meta = texts(&html, "#feed-cybercrime li .meta");
        assert_eq!(meta[0], "2023-12-13 · Bucharest, Romania · from Source “octopus”");
        assert_eq!(
            texts(&html, "#feed-octopus li p"),
            ["Costs: 10 € per day; Tom &amp; Jerry’s notes", "Guide The updated guide. EN FR"]
        );
    }

    #[test]
    fn text_is_escaped_and_controls_vanish() {
        let page = page();
        assert!(!page.contains('\u{1}'));
        assert!(!page.contains("<news>"));
        assert!(page.contains("Budget &lt; 5 M€ for 2024 &amp; beyond"));
    }

    #[test]
    fn at_most_ten_items_per_feed_and_a_note_when_empty() {
        let mut many = sample_doc(None);
        let first = many.entries[0].clone();
        many.entries = (0..15)
            .map(|n| {
                let mut entry = first.clone();
                entry.item.title = format!("Item {n}");
                entry
            })
            .collect();
        let mut empty = sample_doc(None);
        empty.meta.id = "empty".into();
        empty.entries.clear();
        let feeds = [FeedListing { doc: &many, is_channel: false }, FeedListing { doc: &empty, is_channel: false }];
        let html = Html::parse_document(&render(SITE, &feeds));
        assert_eq!(texts(&html, "#feed-octopus li").len(), ITEMS_SHOWN);
        assert_eq!(texts(&html, "#feed-empty li").len(), 0);
        assert!(texts(&html, "#feed-empty p.meta")[0].contains("No items yet"));
    }

    #[test]
    fn links_only_to_http_urls() {
        let mut doc = sample_doc(None);
        doc.entries[0].item.link = "javascript:alert(1)".into();
        doc.meta.home_page_url = "file:page.html".into();
        let page = render(SITE, &[FeedListing { doc: &doc, is_channel: false }]);
        assert!(!page.contains("javascript:") && !page.contains("file:"), "{page}");
    }

    #[test]
    fn same_feeds_same_bytes() {
        assert_eq!(page(), page());
        assert!(page().ends_with("</html>\n"));
    }
}
