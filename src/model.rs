//! The news model: what every stage after extraction speaks.
//!
//! Extraction and feed ingestion produce [`Item`]s; the store adds the times it
//! alone knows ([`StoredItem`]); publishing turns stored items into a [`FeedDoc`].
//! Nothing here does I/O. Each field's doc says where it goes in RSS 2.0, Atom 1.0
//! and JSON Feed 1.1.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One news item, normalized: clean text, absolute URLs, sanitized HTML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Item {
    /// Stable identity across runs (see `identity`): an absolute URL, or
    /// `urn:uuid:...` for items without a link of their own.
    /// RSS `<guid>` (isPermaLink only when it equals `link`), Atom `<id>`, JSON `id`.
    pub guid: String,
    /// Absolute URL of the article. RSS `<link>`, Atom `<link rel="alternate">`, JSON `url`.
    pub link: String,
    /// Plain text, never empty. RSS/Atom `<title>`, JSON `title`.
    pub title: String,
    /// Plain text. RSS `<description>`, Atom `<summary>`, JSON `summary`
    /// (and `content_text` when there is no `content`).
    pub summary: Option<String>,
    /// Sanitized HTML with absolute links. RSS `<content:encoded>`,
    /// Atom `<content type="html">`, JSON `content_html`.
    pub content: Option<String>,
    /// The date the page or feed gives, if any could be read.
    /// When `None`, publishing uses the time the item was first seen.
    pub published: Option<DateTime<Utc>>,
    /// When the source itself says the item was last revised: an Atom entry's
    /// `<updated>`, a JSON Feed item's `date_modified`; `None` for pages.
    /// Shown as Atom `<updated>` and JSON `date_modified` (see [`StoredItem::revised`]).
    #[serde(default)]
    pub revised: Option<DateTime<Utc>>,
    /// The date text as found, kept so a change of it counts as an update.
    pub date_text: Option<String>,
    /// Place of the event ("Strasbourg, France"). JSON `_octofeed.location`;
    /// shown in `index.html`.
    pub location: Option<String>,
    /// RSS `<author>`/`<dc:creator>`, Atom `<author><name>`, JSON `authors[].name`.
    pub authors: Vec<String>,
    /// RSS/Atom `<category>`, JSON `tags`.
    pub categories: Vec<String>,
    /// Absolute image URL. JSON `image`, RSS/Atom as an image enclosure-less media link.
    pub image: Option<String>,
    /// Attachments. RSS `<enclosure>` (RSS allows one: the first),
    /// Atom `<link rel="enclosure">`, JSON `attachments`.
    pub enclosures: Vec<Enclosure>,
}

/// A linked file: a PDF, a podcast episode, a video.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enclosure {
    /// Absolute URL.
    pub url: String,
    /// Media type, from the extension or the server ("application/pdf").
    pub mime_type: String,
    /// Size in bytes when known (RSS requires a length; 0 is written when unknown).
    pub length: Option<u64>,
    /// Link text, when the page gives one ("EN", "Budapest Convention").
    pub title: Option<String>,
}

/// An item as the store keeps it: the item plus the times only history knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredItem {
    /// The source that produced the item.
    pub source_id: String,
    pub item: Item,
    /// When octofeed first saw the item. Never changes.
    pub first_seen: DateTime<Utc>,
    /// When octofeed saw the item last change (title, summary, content or date
    /// text); equals `first_seen` until it changes. The feeds' own `updated`
    /// (`lastBuildDate`) is the newest of these; entries show [`StoredItem::revised`].
    pub updated: DateTime<Utc>,
    /// Position on the page when first seen (0 = top); orders undated items.
    pub position: i64,
    /// When the newsletter feed (`new.xml`) dates the item, fixed when it is first
    /// stored: its [`published`](StoredItem::published) time when it was on the
    /// source's first run that stored items (a first send is no flood), else its
    /// first-seen time, so a tool that sends "items dated after my last send"
    /// gets every item that is new to octofeed, however old its page date.
    pub announced: DateTime<Utc>,
}

impl StoredItem {
    /// The publication time feeds show: the page's date, or the first-seen time;
    /// never later than the first-seen time, so no feed shows a date in the
    /// future (an event announced ahead is dated when it was first seen; its
    /// own date stays in the item's date text).
    pub fn published(&self) -> DateTime<Utc> {
        self.item.published.map_or(self.first_seen, |published| published.min(self.first_seen))
    }

    /// The revision time feeds show (Atom `<updated>`, JSON `date_modified`):
    /// the source's own, when it gives one; else when octofeed saw the item
    /// change; else, for an item never changed, its date (no later than when it
    /// was first seen), so a first run does not date every item "today"; else
    /// the first-seen time. Items of one date keep their page order in it: each
    /// place down the page is one second earlier (up to an hour).
    pub fn revised(&self) -> DateTime<Utc> {
        if let Some(revised) = self.item.revised {
            return revised;
        }
        if self.updated > self.first_seen {
            return self.updated;
        }
        self.published() - chrono::TimeDelta::seconds(self.position.clamp(0, 3599))
    }
}

/// Where a channel's item came from. RSS `<source url>`, Atom `<source>`,
/// JSON `_octofeed.source`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub source_id: String,
    /// The source's title.
    pub title: String,
    /// The source's own published feed (absolute when `base_url` is set) or its page.
    pub feed_url: String,
    /// The page the source reads.
    pub home_page_url: String,
}

/// One entry of a feed about to be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    pub item: Item,
    /// RSS `<pubDate>`, Atom `<published>`, JSON `date_published`.
    pub published: DateTime<Utc>,
    /// Atom `<updated>` (required), JSON `date_modified`.
    pub updated: DateTime<Utc>,
    /// Set in channels (aggregated feeds) only.
    pub origin: Option<Origin>,
    /// The time zone of the entry's source: its dates are written with that
    /// zone's offset, so a date-only item (noon there) reads as the page's day.
    pub timezone: chrono_tz::Tz,
}

/// Feed-level data shared by the three formats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedMeta {
    /// The feed's id: names its folder in the output directory.
    pub id: String,
    pub title: String,
    /// One sentence; RSS requires a `<description>`. Atom `<subtitle>`, JSON `description`.
    pub description: String,
    /// The web page the feed stands for. RSS `<link>`, Atom `<link rel="alternate">`,
    /// JSON `home_page_url`.
    pub home_page_url: String,
    /// Absolute URL of the output folder (`[site].base_url`), for self links;
    /// without it feeds carry no self link.
    pub base_url: Option<String>,
    /// RSS `<language>`, Atom `xml:lang`, JSON `language`.
    pub language: Option<String>,
    /// Newest item change (max of entries' `updated`), or a fixed epoch when empty,
    /// so unchanged input renders the same bytes. RSS `<lastBuildDate>`, Atom `<updated>`.
    pub updated: DateTime<Utc>,
    /// Site title, used as the feed's author where a format asks for one.
    pub site_title: String,
    /// How often the feed is refreshed (its sources' shortest `interval`):
    /// RSS `<ttl>` in minutes, and `serve`'s `Cache-Control: max-age`.
    pub refresh_every: Option<std::time::Duration>,
    /// The WebSub hub (`[site] websub_hub`): RSS and Atom `<link rel="hub">`, JSON `hubs`.
    pub hub: Option<String>,
}

/// A feed ready to render: metadata plus entries, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedDoc {
    pub meta: FeedMeta,
    pub entries: Vec<FeedEntry>,
}

impl FeedMeta {
    /// The absolute URL of one of this feed's files (`rss.xml`, `atom.xml`, `feed.json`),
    /// when the site has a `base_url`.
    pub fn file_url(&self, file: &str) -> Option<String> {
        self.base_url.as_ref().map(|base| {
            let base = base.trim_end_matches('/');
            format!("{base}/{}/{file}", self.id)
        })
    }
}
