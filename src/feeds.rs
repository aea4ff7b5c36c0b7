//! Assemble stage: stored items become the feed documents that `publish`
//! renders: one per source, one per channel (filtered by its words).
//!
//! Pure: the caller loads the items from the store and writes the output.

use std::collections::HashSet;

use chrono::{DateTime, SubsecRound, Utc};

use crate::config::{Channel, Config, Site, Source};
use crate::dedupe::dedupe;
use crate::identity::{hash_parts, hex};
use crate::model::{FeedDoc, FeedEntry, FeedMeta, Item, Origin, StoredItem};

/// Which dates a feed shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dating {
    /// The main feeds: the page's dates ([`StoredItem::published`], [`StoredItem::revised`]).
    Page,
    /// The newsletter feed: when octofeed first saw each item ([`StoredItem::announced`]),
    /// with the page's date and place moved into the item's text.
    Announced,
}

/// The feed of one source, newest first, at most `source.max_items` entries.
pub fn source_doc(site: &Site, source: &Source, items: Vec<StoredItem>) -> FeedDoc {
    source_feed(site, source, items, Dating::Page)
}

/// The newsletter feed (`new.xml`) of one source: `items` (newest first by
/// [`StoredItem::announced`], as [`crate::store::Store::announced_items`] gives them)
/// dated by when octofeed first saw them, at most `source.max_items`.
pub fn source_newsletter_doc(site: &Site, source: &Source, items: Vec<StoredItem>) -> FeedDoc {
    as_newsletter(source_feed(site, source, items, Dating::Announced))
}

fn source_feed(site: &Site, source: &Source, items: Vec<StoredItem>, dating: Dating) -> FeedDoc {
    let items: Vec<StoredItem> = items.into_iter().take(source.max_items).collect();
    let updated = newest_change(&items, dating);
    let mut entries: Vec<FeedEntry> =
        items.into_iter().map(|stored| entry(stored, None, source.timezone, dating)).collect();
    with_distinct_updated(&mut entries);
    let home = source.home_page().to_string();
    FeedDoc {
        meta: FeedMeta {
            id: source.id.clone(),
            title: source.title.clone(),
            description: format!("{}: news from {home}", source.title),
            home_page_url: home,
            base_url: site.base_url.as_ref().map(ToString::to_string),
            language: source.language.clone(),
            updated,
            site_title: site.title.clone(),
            refresh_every: Some(source.interval),
            hub: site.websub_hub.as_ref().map(ToString::to_string),
        },
        entries,
    }
}

/// How often a channel is refreshed: as often as the most often refreshed of its sources.
pub fn channel_refresh_every(config: &Config, channel: &Channel) -> Option<std::time::Duration> {
    channel.sources.iter().filter_map(|id| config.source(id)).map(|source| source.interval).min()
}

/// How often the site's listings (`index.html`, `feeds.opml`) change at most:
/// as often as the most often refreshed source.
pub fn site_refresh_every(config: &Config) -> Option<std::time::Duration> {
    config.sources.iter().map(|source| source.interval).min()
}

/// The feed of a channel: its sources' items, filtered by `include` and
/// `exclude`, duplicates across sources merged, newest first, at most `channel.max_items`.
pub fn channel_doc(config: &Config, channel: &Channel, items: Vec<StoredItem>) -> FeedDoc {
    channel_feed(config, channel, items, Dating::Page)
}

/// The newsletter feed of a channel: like [`channel_doc`], from items ordered
/// and dated as in [`source_newsletter_doc`].
pub fn channel_newsletter_doc(config: &Config, channel: &Channel, items: Vec<StoredItem>) -> FeedDoc {
    as_newsletter(channel_feed(config, channel, items, Dating::Announced))
}

fn channel_feed(config: &Config, channel: &Channel, items: Vec<StoredItem>, dating: Dating) -> FeedDoc {
    let site = &config.site;
    let kept: Vec<StoredItem> = items.into_iter().filter(|stored| channel_keeps(channel, &stored.item)).collect();
    let shown: Vec<StoredItem> = dedupe(kept).into_iter().take(channel.max_items).collect();
    let updated = newest_change(&shown, dating);
    let mut entries: Vec<FeedEntry> =
        shown.into_iter().map(|stored| entry_of_source(config, stored, true, dating)).collect();
    with_distinct_updated(&mut entries);
    // Feeds need an absolute home page: the site when it has an address, else the first source's page.
    let first_page =
        channel.sources.iter().find_map(|id| config.source(id)).map(|source| source.home_page().to_string());
    let home = site.base_url.as_ref().map(ToString::to_string).or(first_page).unwrap_or_default();
    let languages: Vec<&Option<String>> =
        channel.sources.iter().filter_map(|id| config.source(id)).map(|source| &source.language).collect();
    let language = languages
        .first()
        .and_then(|first| languages.iter().all(|other| other == first).then(|| (*first).clone()).flatten());
    FeedDoc {
        meta: FeedMeta {
            id: channel.id.clone(),
            title: channel.title.clone(),
            description: format!("{}: news from {}", channel.title, channel.sources.join(", ")),
            home_page_url: home,
            base_url: site.base_url.as_ref().map(ToString::to_string),
            language,
            updated,
            site_title: site.title.clone(),
            refresh_every: channel_refresh_every(config, channel),
            hub: site.websub_hub.as_ref().map(ToString::to_string),
        },
        entries,
    }
}

/// How many of the newest items a channel loads at first, per item it publishes.
const WINDOW_PER_ITEM: usize = 5;

/// A channel's document, built from the newest of its sources' items only: a
/// window of `max_items × 5` (at least 1,000) newest items, grown fourfold while
/// filters and merged duplicates leave the feed short and the store has more.
/// `load(limit)` gives the newest `limit` items of the channel's sources (all for `None`).
///
/// The feed is the one [`channel_doc`] makes from every item, except when a
/// copy of a published item lies outside the window (older than thousands of
/// newer items): that copy is then neither merged nor preferred as the kept one.
pub fn channel_doc_from<E>(
    config: &Config,
    channel: &Channel,
    load: impl FnMut(Option<usize>) -> Result<Vec<StoredItem>, E>,
) -> Result<FeedDoc, E> {
    windowed(channel, load, |items| channel_doc(config, channel, items))
}

/// [`channel_newsletter_doc`] from a window of the newest items by newsletter
/// date, as [`channel_doc_from`] does; `load` gives them in that order.
pub fn channel_newsletter_doc_from<E>(
    config: &Config,
    channel: &Channel,
    load: impl FnMut(Option<usize>) -> Result<Vec<StoredItem>, E>,
) -> Result<FeedDoc, E> {
    windowed(channel, load, |items| channel_newsletter_doc(config, channel, items))
}

fn windowed<E>(
    channel: &Channel,
    mut load: impl FnMut(Option<usize>) -> Result<Vec<StoredItem>, E>,
    build: impl Fn(Vec<StoredItem>) -> FeedDoc,
) -> Result<FeedDoc, E> {
    let mut window = channel.max_items.saturating_mul(WINDOW_PER_ITEM).max(1_000);
    loop {
        let items = load(Some(window))?;
        let exhausted = items.len() < window;
        let doc = build(items);
        if exhausted || doc.entries.len() >= channel.max_items {
            return Ok(doc);
        }
        if window > usize::MAX / 4 {
            return Ok(build(load(None)?));
        }
        window *= 4;
    }
}

/// Whether a channel keeps an item: it matches an `include` word (when any
/// are given) and no `exclude` word, in its title, summary or categories.
pub fn channel_keeps(channel: &Channel, item: &Item) -> bool {
    let haystacks: Vec<&str> = [Some(item.title.as_str()), item.summary.as_deref()]
        .into_iter()
        .flatten()
        .chain(item.categories.iter().map(String::as_str))
        .collect();
    let any = |matchers: &[crate::config::Matcher]| {
        matchers.iter().any(|matcher| haystacks.iter().any(|text| matcher.matches(text)))
    };
    (channel.include.is_empty() || any(&channel.include)) && !any(&channel.exclude)
}

/// One stored item as its feed shows it, for a source's feed or (with its
/// origin) a channel's: what a webhook sends for a new item.
pub fn feed_entry(config: &Config, stored: StoredItem, in_channel: bool) -> FeedEntry {
    entry_of_source(config, stored, in_channel, Dating::Page)
}

/// The entry of an item in its source's time zone, with its origin in a channel.
fn entry_of_source(config: &Config, stored: StoredItem, in_channel: bool, dating: Dating) -> FeedEntry {
    let source = config.source(&stored.source_id);
    let timezone = source.map_or(chrono_tz::Tz::UTC, |source| source.timezone);
    let origin = source.filter(|_| in_channel).map(|source| origin(&config.site, source));
    entry(stored, origin, timezone, dating)
}

fn entry(stored: StoredItem, origin: Option<Origin>, timezone: chrono_tz::Tz, dating: Dating) -> FeedEntry {
    let (published, updated) = match dating {
        Dating::Page => (stored.published(), stored.revised()),
        Dating::Announced => (stored.announced, stored.announced),
    };
    // Items stored before the hygiene rules existed get them here.
    let mut item = crate::hygiene::cleaned(stored.item);
    if dating == Dating::Announced {
        tell_when_and_where(&mut item, published, timezone);
    }
    FeedEntry { published, updated, item, origin, timezone }
}

/// Puts the page's date and place at the head of the item's text, for the
/// newsletter feed whose dates are octofeed's: "24 November 2022 · Strasbourg,
/// France — " before the summary, and as a first paragraph of the content.
fn tell_when_and_where(item: &mut Item, announced: DateTime<Utc>, timezone: chrono_tz::Tz) {
    let when = match (&item.date_text, item.published) {
        (Some(text), _) => Some(text.clone()),
        (None, Some(date)) if date != announced => Some(date.with_timezone(&timezone).format("%-d %B %Y").to_string()),
        _ => None,
    };
    let line: Vec<String> = when.into_iter().chain(item.location.clone()).collect();
    if line.is_empty() {
        return;
    }
    let line = line.join(" · ");
    item.summary = Some(match item.summary.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
        Some(summary) => format!("{line} — {summary}"),
        None => line.clone(),
    });
    if let Some(content) = &item.content {
        item.content = Some(format!("<p>{}</p>{content}", crate::publish::escape_html(&line)));
    }
}

/// Turns a feed built with [`Dating::Announced`] into the newsletter feed: its
/// title says so (it is a second subscription next to the main feed).
fn as_newsletter(mut doc: FeedDoc) -> FeedDoc {
    doc.meta.description =
        format!("{}: new items in the order octofeed first saw them, for newsletters", doc.meta.title);
    doc.meta.title = format!("{} (new items)", doc.meta.title);
    doc
}

fn origin(site: &Site, source: &Source) -> Origin {
    let home = source.home_page().to_string();
    Origin {
        source_id: source.id.clone(),
        title: source.title.clone(),
        feed_url: site
            .base_url
            .as_ref()
            .and_then(|base| base.join(&format!("{}/rss.xml", source.id)).ok())
            .map_or_else(|| home.clone(), |url| url.to_string()),
        home_page_url: home,
    }
}

/// Gives every entry its own `updated` second: Atom readers (and the W3C
/// validator) take two entries with one `updated` time for a mistake. Going
/// down the feed, an entry whose second is already shown above it moves one
/// second earlier until it is free; entries that differ already are untouched.
fn with_distinct_updated(entries: &mut [FeedEntry]) {
    let mut shown: HashSet<DateTime<Utc>> = HashSet::with_capacity(entries.len());
    for entry in entries {
        let mut second = entry.updated.trunc_subsecs(0);
        while !shown.insert(second) {
            second -= chrono::TimeDelta::seconds(1);
        }
        entry.updated = second;
    }
}

/// The newest item change (the newest newsletter date, for the newsletter
/// feed), so unchanged items give unchanged bytes. The Unix epoch for an empty
/// feed: `run` dates such a feed by its clock when it publishes it.
fn newest_change(items: &[StoredItem], dating: Dating) -> DateTime<Utc> {
    let change = |stored: &StoredItem| match dating {
        Dating::Page => stored.updated,
        Dating::Announced => stored.announced,
    };
    items.iter().map(change).max().unwrap_or(DateTime::UNIX_EPOCH)
}

/// A digest of what a source's feed shows besides its items: a change of it
/// republishes the feed even when no item changed.
pub fn source_fingerprint(site: &Site, source: &Source) -> String {
    let parts = [
        site.title.as_str(),
        site.base_url.as_ref().map_or("", |url| url.as_str()),
        source.title.as_str(),
        source.home_page().as_str(),
        source.language.as_deref().unwrap_or(""),
        site.websub_hub.as_ref().map_or("", |url| url.as_str()),
        &source.max_items.to_string(),
        &source.interval.as_secs().to_string(),
    ];
    hex(&hash_parts(&parts))
}

/// Like [`source_fingerprint`], for a channel.
pub fn channel_fingerprint(config: &Config, channel: &Channel) -> String {
    let site = &config.site;
    let mut parts = vec![
        site.title.clone(),
        site.base_url.as_ref().map_or(String::new(), |url| url.to_string()),
        site.websub_hub.as_ref().map_or(String::new(), |url| url.to_string()),
        channel.title.clone(),
        channel.max_items.to_string(),
        channel.include.iter().map(|m| format!("{m}\n")).collect(),
        channel.exclude.iter().map(|m| format!("{m}\n")).collect(),
    ];
    for id in &channel.sources {
        let source = config.source(id);
        let (title, interval) = source.map_or(("", 0), |source| (source.title.as_str(), source.interval.as_secs()));
        parts.push(format!("{id}|{title}|{interval}"));
    }
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    hex(&hash_parts(&parts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn stored(position: i64, day: u32) -> StoredItem {
        let first_seen = Utc.with_ymd_and_hms(2022, 12, 1, 8, 0, 0).unwrap();
        let published = Utc.with_ymd_and_hms(2022, 11, day, 11, 0, 0).single();
        let item = Item { guid: format!("g{position}-{day}"), title: "T".into(), published, ..Item::default() };
        StoredItem { source_id: "s".into(), item, first_seen, updated: first_seen, position, announced: first_seen }
    }

    #[test]
    fn an_unchanged_item_is_revised_at_its_date_in_page_order() {
        assert_eq!(stored(0, 24).revised(), Utc.with_ymd_and_hms(2022, 11, 24, 11, 0, 0).unwrap());
        assert_eq!(stored(2, 24).revised(), Utc.with_ymd_and_hms(2022, 11, 24, 10, 59, 58).unwrap());
        let mut changed = stored(2, 24);
        changed.updated = Utc.with_ymd_and_hms(2022, 12, 3, 9, 0, 0).unwrap();
        assert_eq!(changed.revised(), changed.updated, "a change octofeed saw is the revision time");
        let mut future = stored(0, 30);
        future.item.published = Utc.with_ymd_and_hms(2023, 1, 5, 11, 0, 0).single();
        assert_eq!(future.revised(), future.first_seen, "never later than first seen");
    }

    #[test]
    fn entries_sharing_an_updated_second_are_told_apart_and_others_left_alone() {
        let mut entries: Vec<FeedEntry> = [stored(0, 24), stored(0, 24), stored(0, 24), stored(0, 20)]
            .into_iter()
            .map(|stored| entry(stored, None, chrono_tz::Tz::UTC, Dating::Page))
            .collect();
        with_distinct_updated(&mut entries);
        let seconds: Vec<DateTime<Utc>> = entries.iter().map(|entry| entry.updated).collect();
        let at = |day, hour, minute, second| Utc.with_ymd_and_hms(2022, 11, day, hour, minute, second).unwrap();
        assert_eq!(seconds, [at(24, 11, 0, 0), at(24, 10, 59, 59), at(24, 10, 59, 58), at(20, 11, 0, 0)]);
    }
}
