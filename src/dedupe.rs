//! Channel deduplication: the same article reached through two sources is one
//! channel item. Two items are the same when their links share a canonical
//! URL, or when their normalized titles match on the same day and something
//! else agrees: their links are on the same host, or one of them has no link
//! (two blogs' "Weekly roundup" of one day are different posts). Two items of
//! the same source are never merged: the source already told them apart.
//!
//! Pure. The kept copy is the one seen first (so the channel's guid for an
//! item never changes between runs), enriched with the fuller text of the others.

use std::collections::HashMap;

use url::Url;

use crate::identity::canonical_url;
use crate::model::{Item, StoredItem};

/// Merges duplicates; keeps the order of `items` for the kept copies.
pub fn dedupe(items: Vec<StoredItem>) -> Vec<StoredItem> {
    let mut by_first_seen: Vec<usize> = (0..items.len()).collect();
    by_first_seen.sort_by(|&a, &b| {
        let (a, b) = (&items[a], &items[b]);
        (a.first_seen, &a.source_id, &a.item.guid).cmp(&(b.first_seen, &b.source_id, &b.item.guid))
    });
    // For each item, the index of the kept copy it merges into.
    let mut keeper_of: Vec<usize> = (0..items.len()).collect();
    // Each identity, with the kept copies that have it (more than one only
    // when a rule above kept them apart).
    let mut by_key: HashMap<Key, Vec<usize>> = HashMap::new();
    for index in by_first_seen {
        let keys = keys(&items[index].item);
        let same = keys.iter().find_map(|key| {
            let candidates = by_key.get(key)?;
            candidates.iter().copied().find(|&keeper| is_same_article(&items[keeper], &items[index], key))
        });
        match same {
            Some(keeper) => keeper_of[index] = keeper,
            None => {
                for key in keys {
                    by_key.entry(key).or_default().push(index);
                }
            }
        }
    }
    let mut slots: Vec<Option<StoredItem>> = items.into_iter().map(Some).collect();
    for index in 0..slots.len() {
        let keeper = keeper_of[index];
        if keeper != index
            && let Some(duplicate) = slots[index].take()
            && let Some(kept) = slots[keeper].as_mut()
        {
            enrich(kept, duplicate);
        }
    }
    slots.into_iter().flatten().collect()
}

/// An identity two items can share.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    /// The canonical link.
    Url(String),
    /// The normalized title on its day.
    TitleOnDay(String),
}

/// The identities an item can share with another: its canonical link, and its
/// normalized title on its day.
fn keys(item: &Item) -> Vec<Key> {
    let mut keys = Vec::with_capacity(2);
    if let Some(url) = canonical_url(&item.link) {
        keys.push(Key::Url(url));
    }
    let title = normalized_title(&item.title);
    if let (Some(published), false) = (item.published, title.is_empty()) {
        keys.push(Key::TitleOnDay(format!("{} {title}", published.date_naive())));
    }
    keys
}

/// Whether `candidate`, sharing `key` with the kept copy `kept`, is the same article.
fn is_same_article(kept: &StoredItem, candidate: &StoredItem, key: &Key) -> bool {
    if kept.source_id == candidate.source_id {
        return false;
    }
    match key {
        Key::Url(_) => true,
        Key::TitleOnDay(_) => match (link_host(&kept.item.link), link_host(&candidate.item.link)) {
            (Some(kept), Some(candidate)) => kept == candidate,
            _ => true,
        },
    }
}

/// The host of an item's link without `www.`; `None` when it has no link.
fn link_host(link: &str) -> Option<String> {
    let url = Url::parse(link).ok()?;
    let host = url.host_str()?;
    Some(host.strip_prefix("www.").unwrap_or(host).to_owned())
}

/// Lower-case letters and digits, single spaces: punctuation and case never tell two titles apart.
fn normalized_title(title: &str) -> String {
    let lowered: String =
        title.chars().flat_map(char::to_lowercase).map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect();
    lowered.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The kept copy takes the longer text and everything it lacks from the duplicate.
fn enrich(kept: &mut StoredItem, duplicate: StoredItem) {
    let (item, other) = (&mut kept.item, duplicate.item);
    take_longer(&mut item.summary, other.summary);
    take_longer(&mut item.content, other.content);
    if item.image.is_none() {
        item.image = other.image;
    }
    if item.location.is_none() {
        item.location = other.location;
    }
    for category in other.categories {
        if !item.categories.contains(&category) {
            item.categories.push(category);
        }
    }
    for enclosure in other.enclosures {
        if !item.enclosures.iter().any(|mine| mine.url == enclosure.url) {
            item.enclosures.push(enclosure);
        }
    }
    kept.updated = kept.updated.max(duplicate.updated);
}

fn take_longer(mine: &mut Option<String>, theirs: Option<String>) {
    let longer = match (mine.as_ref(), theirs.as_ref()) {
        (None, Some(_)) => true,
        (Some(a), Some(b)) => b.len() > a.len(),
        _ => false,
    };
    if longer {
        *mine = theirs;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, TimeZone, Utc};

    fn stored(source: &str, link: &str, title: &str, seen_hour: u32, published: Option<DateTime<Utc>>) -> StoredItem {
        let first_seen = Utc.with_ymd_and_hms(2022, 12, 1, seen_hour, 0, 0).unwrap();
        StoredItem {
            source_id: source.into(),
            item: Item { guid: link.into(), link: link.into(), title: title.into(), published, ..Item::default() },
            first_seen,
            updated: first_seen,
            position: 0,
            announced: first_seen,
        }
    }

    #[test]
    fn the_same_canonical_link_from_two_sources_is_one_item_kept_from_the_first_seen() {
        let mut later = stored("news", "https://WWW.coe.int/en/-/octopus/?utm_source=x#top", "Octopus", 9, None);
        later.item.content = Some("<p>The full article text, longer.</p>".into());
        later.updated = Utc.with_ymd_and_hms(2022, 12, 2, 0, 0, 0).unwrap();
        let first = stored("octopus", "https://www.coe.int/en/-/octopus", "Octopus conference", 8, None);
        let merged = dedupe(vec![later, first]);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].source_id, "octopus", "the earliest seen copy is kept");
        assert_eq!(merged[0].item.guid, "https://www.coe.int/en/-/octopus");
        assert_eq!(merged[0].item.content.as_deref(), Some("<p>The full article text, longer.</p>"), "enriched");
        assert_eq!(merged[0].updated, Utc.with_ymd_and_hms(2022, 12, 2, 0, 0, 0).unwrap());
    }

    #[test]
    fn the_same_title_on_the_same_day_is_one_item_on_the_same_host_but_not_on_another_day() {
        let day = |d| Some(Utc.with_ymd_and_hms(2022, 11, d, 10, 0, 0).unwrap());
        let items = vec![
            stored("a", "https://www.coe.int/1", "Octopus Conference 2022!", 8, day(24)),
            stored("b", "https://coe.int/x", "octopus conference — 2022", 9, day(24)),
            stored("c", "https://coe.int/y", "Octopus Conference 2022", 7, day(25)),
        ];
        let merged = dedupe(items);
        let sources: Vec<&str> = merged.iter().map(|s| s.source_id.as_str()).collect();
        assert_eq!(sources, ["a", "c"]);
    }

    #[test]
    fn two_blogs_weekly_roundups_of_one_day_stay_two_items() {
        let day = Some(Utc.with_ymd_and_hms(2022, 11, 24, 10, 0, 0).unwrap());
        let items = vec![
            stored("blog-a", "https://a.example/weekly-roundup", "Weekly roundup", 8, day),
            stored("blog-b", "https://b.example/2022/11/24/roundup", "Weekly roundup", 9, day),
        ];
        assert_eq!(dedupe(items).len(), 2);
    }

    #[test]
    fn a_linkless_copy_of_a_same_day_title_is_merged() {
        let day = Some(Utc.with_ymd_and_hms(2022, 11, 24, 10, 0, 0).unwrap());
        let mut linkless = stored("press", "", "Octopus Conference opens", 9, day);
        linkless.item.guid = "urn:uuid:1".into();
        let items = vec![stored("news", "https://www.coe.int/-/octopus", "Octopus Conference opens", 8, day), linkless];
        let merged = dedupe(items);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].source_id, "news");
    }

    #[test]
    fn two_items_of_one_source_are_never_merged() {
        let day = Some(Utc.with_ymd_and_hms(2022, 11, 24, 10, 0, 0).unwrap());
        let mut second = stored("podcast", "https://pod.example/episode", "Daily briefing", 9, day);
        second.item.guid = "https://pod.example/episode#2".into();
        second.item.enclosures = vec![crate::model::Enclosure {
            url: "https://pod.example/2.mp3".into(),
            mime_type: "audio/mpeg".into(),
            length: None,
            title: None,
        }];
        let first = stored("podcast", "https://pod.example/episode", "Daily briefing", 8, day);
        let merged = dedupe(vec![first, second]);
        assert_eq!(merged.len(), 2, "one source's two same-day episodes, even with one link, are two items");
        assert!(merged.iter().any(|item| item.item.enclosures.len() == 1), "the second episode keeps its enclosure");
    }

    #[test]
    fn the_same_canonical_link_from_two_sources_merges_whatever_the_titles() {
        let items = vec![
            stored("a", "https://www.coe.int/-/x", "Conference opens", 8, None),
            stored("b", "https://www.coe.int/-/x/", "Octopus 2022: the conference opens today", 9, None),
        ];
        assert_eq!(dedupe(items).len(), 1);
    }

    #[test]
    fn the_kept_copy_does_not_depend_on_input_order() {
        let a = stored("a", "https://e.org/x", "X", 8, None);
        let b = stored("b", "https://e.org/x/", "X", 9, None);
        assert_eq!(dedupe(vec![a.clone(), b.clone()])[0].item.guid, dedupe(vec![b, a])[0].item.guid);
    }
}
