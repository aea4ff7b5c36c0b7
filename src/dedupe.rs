//! Channel deduplication: the same article reached through two sources is one
//! channel item. Two items are the same when their links share a canonical
//! URL, or when their normalized titles match on the same day.
//!
//! Pure. The kept copy is the one seen first (so the channel's guid for an
//! item never changes between runs), enriched with the fuller text of the others.

use std::collections::HashMap;

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
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for index in by_first_seen {
        let keys = keys(&items[index].item);
        match keys.iter().find_map(|key| by_key.get(key).copied()) {
            Some(keeper) => keeper_of[index] = keeper,
            None => {
                for key in keys {
                    by_key.entry(key).or_insert(index);
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

/// The identities an item can share with another: its canonical link, and its
/// normalized title on its day.
fn keys(item: &Item) -> Vec<String> {
    let mut keys = Vec::with_capacity(2);
    if let Some(url) = canonical_url(&item.link) {
        keys.push(format!("url {url}"));
    }
    let title = normalized_title(&item.title);
    if let (Some(published), false) = (item.published, title.is_empty()) {
        keys.push(format!("title {} {title}", published.date_naive()));
    }
    keys
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
    fn the_same_title_on_the_same_day_is_one_item_but_not_on_another_day() {
        let day = |d| Some(Utc.with_ymd_and_hms(2022, 11, d, 10, 0, 0).unwrap());
        let items = vec![
            stored("a", "https://a.example/1", "Octopus Conference 2022!", 8, day(24)),
            stored("b", "https://b.example/x", "octopus conference — 2022", 9, day(24)),
            stored("c", "https://c.example/y", "Octopus Conference 2022", 7, day(25)),
        ];
        let merged = dedupe(items);
        let sources: Vec<&str> = merged.iter().map(|s| s.source_id.as_str()).collect();
        assert_eq!(sources, ["a", "c"]);
    }

    #[test]
    fn the_kept_copy_does_not_depend_on_input_order() {
        let a = stored("a", "https://e.org/x", "X", 8, None);
        let b = stored("b", "https://e.org/x/", "X", 9, None);
        assert_eq!(dedupe(vec![a.clone(), b.clone()])[0].item.guid, dedupe(vec![b, a])[0].item.guid);
    }
}
