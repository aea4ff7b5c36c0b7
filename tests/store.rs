//! Store tests on every engine: history across runs, health, publication
//! bookkeeping, moved items and webhook deliveries, each on a new, empty store
//! (a SQLite file, and a PostgreSQL schema when the tests have a PostgreSQL:
//! see `store_kit::engines`). What only one engine has (SQLite's lock, WAL and
//! file checks) is tested beside it, in `src/store/sqlite/tests.rs`.

mod store_kit;

use chrono::{DateTime, TimeZone, Utc};
use octofeed::model::{Enclosure, Item, StoredItem};
use octofeed::store::{ApplyStats, FetchState, Health, Observed, Store};
use store_kit::each_engine;

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, day, hour, 0, 0).single().expect("a valid time")
}

fn item(guid: &str, title: &str) -> Item {
    Item { guid: guid.into(), link: guid.into(), title: title.into(), ..Item::default() }
}

fn dated(guid: &str, title: &str, day: u32) -> Item {
    Item { published: Some(at(day, 0)), date_text: Some(format!("{day} May 2024")), ..item(guid, title) }
}

fn seen(items: &[Item]) -> Vec<Observed> {
    items.iter().map(|item| Observed { item: item.clone(), listing_hash: format!("{:?}", item.title) }).collect()
}

fn fetched(etag: &str) -> FetchState {
    FetchState { etag: Some(etag.into()), last_modified: None, body_hash: Some(format!("body-{etag}")) }
}

fn guids(items: &[StoredItem]) -> Vec<&str> {
    items.iter().map(|stored| stored.item.guid.as_str()).collect()
}

fn apply(store: &mut Box<dyn Store>, items: &[Item], now: DateTime<Utc>) -> ApplyStats {
    store.apply("news", &seen(items), &fetched("e"), now).expect("apply")
}

fn stored(store: &dyn Store, guid: &str) -> StoredItem {
    store.stored_item("news", guid).expect("a query").expect("the item is stored").0
}

#[test]
fn first_run_creates_the_folder_and_stores_every_item() {
    each_engine(|engine| {
        let mut store = engine.open();
        let stats = apply(&mut store, &[dated("a", "A", 2), item("b", "B")], at(10, 8));
        assert_eq!(stats, ApplyStats { seen: 2, new: 2, updated: 0 });
        let items = store.items("news", None).expect("items");
        assert_eq!(guids(&items), ["b", "a"], "undated b was first seen on the 10th, after a's date");
        assert_eq!(items[0].first_seen, at(10, 8));
        assert_eq!(items[0].updated, at(10, 8));
        assert_eq!(items[1].item, dated("a", "A", 2));
    });
}

#[test]
fn a_second_run_keeps_the_union_with_identity_and_first_seen() {
    each_engine(|engine| {
        let mut store = engine.open();
        apply(&mut store, &[dated("a", "A", 2), item("b", "B")], at(10, 8));
        drop(store);
        let mut store = engine.open();
        let stats = apply(&mut store, &[dated("c", "C", 3), dated("a", "A", 2)], at(11, 8));
        assert_eq!(stats, ApplyStats { seen: 2, new: 1, updated: 0 });
        let items = store.items("news", None).expect("items");
        assert_eq!(guids(&items), ["b", "c", "a"]);
        let a = stored(&*store, "a");
        assert_eq!((a.first_seen, a.updated, a.published()), (at(10, 8), at(10, 8), at(2, 0)));
        assert_eq!(stored(&*store, "b").published(), at(10, 8), "b left the page and stays, as first seen");
        assert_eq!(store.health("news").expect("health").item_count, 3);
    });
}

#[test]
fn an_undated_item_keeps_its_first_seen_time_across_runs() {
    each_engine(|engine| {
        let mut store = engine.open();
        for day in 10..13 {
            apply(&mut store, &[item("b", "B")], at(day, 8));
        }
        let b = stored(&*store, "b");
        assert_eq!((b.first_seen, b.updated, b.published()), (at(10, 8), at(10, 8), at(10, 8)));
    });
}

#[test]
fn a_visible_change_bumps_updated_and_counts() {
    let base = dated("a", "A", 2);
    let changes = [
        Item { title: "A, corrected".into(), ..base.clone() },
        Item { summary: Some("now with a summary".into()), ..base.clone() },
        Item { content: Some("<p>body</p>".into()), ..base.clone() },
        Item { date_text: Some("2 May 2024 Strasbourg".into()), ..base.clone() },
    ];
    for changed in changes {
        each_engine(|engine| {
            let mut store = engine.open();
            apply(&mut store, std::slice::from_ref(&base), at(10, 8));
            let stats = apply(&mut store, std::slice::from_ref(&changed), at(11, 8));
            assert_eq!(stats, ApplyStats { seen: 1, new: 0, updated: 1 }, "{changed:?}");
            let a = stored(&*store, "a");
            assert_eq!((a.item, a.first_seen, a.updated), (changed.clone(), at(10, 8), at(11, 8)));
        });
    }
}

#[test]
fn an_unchanged_item_is_not_updated() {
    each_engine(|engine| {
        let mut store = engine.open();
        let a = Item { summary: Some("s".into()), content: Some("c".into()), ..dated("a", "A", 2) };
        apply(&mut store, std::slice::from_ref(&a), at(10, 8));
        let stats = apply(&mut store, &[a], at(11, 8));
        assert_eq!(stats, ApplyStats { seen: 1, new: 0, updated: 0 });
        assert_eq!(stored(&*store, "a").updated, at(10, 8));
    });
}

#[test]
fn other_fields_are_refreshed_without_counting_as_updates() {
    each_engine(|engine| {
        let mut store = engine.open();
        let (a, b) = (dated("a", "A", 2), dated("b", "B", 4));
        apply(&mut store, &[a.clone(), b.clone()], at(10, 8));
        assert_eq!(guids(&store.items("news", None).expect("items")), ["b", "a"]);
        let refreshed = Item {
            link: "https://example.org/a-moved".into(),
            published: Some(at(5, 0)),
            location: Some("Strasbourg, France".into()),
            authors: vec!["Ann".into()],
            categories: vec!["cybercrime".into(), "octopus".into()],
            image: Some("https://example.org/a.png".into()),
            enclosures: vec![Enclosure {
                url: "https://example.org/a.pdf".into(),
                mime_type: "application/pdf".into(),
                length: Some(1234),
                title: Some("EN".into()),
            }],
            ..a
        };
        let stats = apply(&mut store, &[refreshed.clone(), b], at(11, 8));
        assert_eq!(stats, ApplyStats { seen: 2, new: 0, updated: 0 });
        assert_eq!(guids(&store.items("news", None).expect("items")), ["a", "b"], "a's new date orders it");
        let stored = stored(&*store, "a");
        assert_eq!((stored.item, stored.updated), (refreshed, at(10, 8)));
    });
}

#[test]
fn repeated_guids_are_one_item_and_the_first_wins() {
    each_engine(|engine| {
        let mut store = engine.open();
        let stats = apply(&mut store, &[item("a", "first"), item("b", "B"), item("a", "second")], at(10, 8));
        assert_eq!(stats, ApplyStats { seen: 2, new: 2, updated: 0 });
        assert_eq!(stored(&*store, "a").item.title, "first");
    });
}

#[test]
fn undated_items_first_seen_together_keep_page_order() {
    each_engine(|engine| {
        let mut store = engine.open();
        apply(&mut store, &[item("z", "Z"), item("m", "M"), item("a", "A")], at(10, 8));
        apply(&mut store, &[item("new", "N"), item("z", "Z"), item("m", "M"), item("a", "A")], at(11, 8));
        let items = store.items("news", None).expect("items");
        assert_eq!(guids(&items), ["new", "z", "m", "a"]);
        let positions: Vec<i64> = items.iter().map(|stored| stored.position).collect();
        assert_eq!(positions, [0, 0, 1, 2], "an item keeps the position it was first seen at");
    });
}

#[test]
fn the_limit_cuts_the_query_not_the_store() {
    each_engine(|engine| {
        let mut store = engine.open();
        let items: Vec<Item> = (1..=5).map(|day| dated(&format!("d{day}"), "D", day)).collect();
        apply(&mut store, &items, at(10, 8));
        assert_eq!(guids(&store.items("news", Some(2)).expect("items")), ["d5", "d4"]);
        assert_eq!(store.items("news", Some(0)).expect("items"), []);
        assert_eq!(store.items("news", None).expect("items").len(), 5);
        assert_eq!(store.health("news").expect("health").item_count, 5);
    });
}

#[test]
fn times_round_trip_to_the_nanosecond() {
    each_engine(|engine| {
        let mut store = engine.open();
        let now = at(10, 8) + chrono::Duration::nanoseconds(123_456_789);
        let published = at(2, 0) + chrono::Duration::nanoseconds(1);
        let a = Item { published: Some(published), ..item("a", "A") };
        apply(&mut store, std::slice::from_ref(&a), now);
        let stored = stored(&*store, "a");
        assert_eq!((stored.first_seen, stored.updated, stored.item), (now, now, a));
        assert_eq!(store.health("news").expect("health").last_success, Some(now));
    });
}

#[test]
fn a_failure_counts_and_keeps_items_and_fetch_state() {
    each_engine(|engine| {
        let mut store = engine.open();
        apply(&mut store, &[item("a", "A")], at(10, 8));
        store.record_failure("news", "https://example.org/: HTTP 503", at(11, 8)).expect("failure recorded");
        store.record_failure("news", "https://example.org/: timed out", at(12, 8)).expect("failure recorded");
        let health = store.health("news").expect("health");
        assert_eq!(health.consecutive_failures, 2);
        assert_eq!(health.last_error.as_deref(), Some("https://example.org/: timed out"));
        assert_eq!(
            (health.last_error_at, health.last_success, health.item_count),
            (Some(at(12, 8)), Some(at(10, 8)), 1)
        );
        assert_eq!(store.fetch_state("news").expect("fetch state"), fetched("e"));
        assert_eq!(guids(&store.items("news", None).expect("items")), ["a"]);
    });
}

#[test]
fn a_success_resets_the_failure_count_and_keeps_the_last_error() {
    each_engine(|engine| {
        let mut store = engine.open();
        store.record_failure("news", "boom", at(10, 8)).expect("failure recorded");
        assert_eq!(store.health("news").expect("health").consecutive_failures, 1);
        store.record_unchanged("news", &fetched("e"), at(11, 8)).expect("success recorded");
        let health = store.health("news").expect("health");
        let expected = Health {
            last_success: Some(at(11, 8)),
            last_error: Some("boom".into()),
            last_error_at: Some(at(10, 8)),
            consecutive_failures: 0,
            item_count: 0,
        };
        assert_eq!(health, expected);
        store.record_failure("news", "boom", at(12, 8)).expect("failure recorded");
        apply(&mut store, &[], at(13, 8));
        assert_eq!(store.health("news").expect("health").consecutive_failures, 0);
    });
}

#[test]
fn fetch_state_round_trips_and_is_empty_for_a_new_source() {
    each_engine(|engine| {
        let mut store = engine.open();
        assert_eq!(store.fetch_state("news").expect("fetch state"), FetchState::default());
        assert_eq!(store.health("news").expect("health"), Health::default());
        let full = FetchState {
            etag: Some("W/\"abc\"".into()),
            last_modified: Some("Wed, 21 Oct 2015 07:28:00 GMT".into()),
            body_hash: Some("0123abcd".into()),
        };
        store.apply("news", &[], &full, at(10, 8)).expect("apply");
        assert_eq!(store.fetch_state("news").expect("fetch state"), full);
        store.record_unchanged("news", &FetchState::default(), at(11, 8)).expect("success recorded");
        assert_eq!(store.fetch_state("news").expect("fetch state"), FetchState::default());
    });
}

#[test]
fn the_stored_item_comes_with_its_listing_hash() {
    each_engine(|engine| {
        let mut store = engine.open();
        let a = item("a", "A");
        store
            .apply("news", &[Observed { item: a.clone(), listing_hash: "h1".into() }], &fetched("e"), at(10, 8))
            .expect("apply");
        let (_, hash) = store.stored_item("news", "a").expect("a query").expect("stored");
        assert_eq!(hash, "h1");
        let stats = store
            .apply("news", &[Observed { item: a, listing_hash: "h2".into() }], &fetched("e"), at(11, 8))
            .expect("apply");
        assert_eq!(stats.updated, 0);
        let (stored, hash) = store.stored_item("news", "a").expect("a query").expect("stored");
        assert_eq!((hash.as_str(), stored.updated), ("h2", at(10, 8)));
        assert_eq!(store.stored_item("news", "missing").expect("a query"), None);
        assert_eq!(store.stored_item("other", "a").expect("a query"), None);
    });
}

#[test]
fn items_of_sources_merge_newest_first_and_tag_each_source() {
    each_engine(|engine| {
        let mut store = engine.open();
        let fetch = fetched("e");
        store.apply("one", &seen(&[dated("x", "X", 5), dated("y", "Y", 3)]), &fetch, at(10, 8)).expect("apply");
        store.apply("two", &seen(&[dated("b", "B", 4), dated("x", "X", 5)]), &fetch, at(10, 8)).expect("apply");
        store.apply("three", &seen(&[dated("c", "C", 6)]), &fetch, at(10, 8)).expect("apply");
        let items = store.items_of_sources(&["one", "two"], None).expect("items");
        let tagged: Vec<(&str, &str)> =
            items.iter().map(|stored| (stored.source_id.as_str(), stored.item.guid.as_str())).collect();
        assert_eq!(tagged, [("one", "x"), ("two", "x"), ("two", "b"), ("one", "y")]);
        let newest = store.items_of_sources(&["one", "two", "three"], Some(2)).expect("items");
        assert_eq!(guids(&newest), ["c", "x"]);
        assert_eq!(store.items_of_sources(&[], None).expect("items"), []);
    });
}

#[test]
fn feeds_are_dirty_until_published_and_again_when_their_sources_change() {
    each_engine(|engine| {
        let mut store = engine.open();
        let channel = ["news", "other"];
        let dirty = |store: &dyn Store, feed: &str, sources: &[&str]| {
            store.needs_publish(feed, "f1", sources).expect("bookkeeping")
        };
        assert!(dirty(&*store, "news", &["news"]), "never published");
        apply(&mut store, &[item("a", "A")], at(10, 8));
        store.mark_published("news", "f1", &["news"]).expect("marked");
        store.mark_published("all", "f1", &channel).expect("marked");
        assert!(!dirty(&*store, "news", &["news"]));
        assert!(!dirty(&*store, "all", &channel));
        assert!(store.needs_publish("news", "f2", &["news"]).expect("bookkeeping"), "settings changed");

        apply(&mut store, &[item("a", "A")], at(11, 8));
        store.record_unchanged("news", &fetched("e"), at(12, 8)).expect("success recorded");
        store.record_failure("news", "boom", at(13, 8)).expect("failure recorded");
        assert!(!dirty(&*store, "news", &["news"]), "nothing a feed shows changed");

        apply(&mut store, &[Item { image: Some("https://example.org/a.png".into()), ..item("a", "A") }], at(14, 8));
        assert!(dirty(&*store, "news", &["news"]), "a silent refresh still changes the feed");
        assert!(dirty(&*store, "all", &channel), "the channel follows its source");
        store.mark_published("news", "f1", &["news"]).expect("marked");
        assert!(!dirty(&*store, "news", &["news"]));
        assert!(dirty(&*store, "all", &channel), "the channel is not published yet");
        assert!(dirty(&*store, "all", &["news"]), "a channel whose sources changed");
    });
}

#[test]
fn a_reader_needs_no_lock_and_sees_what_the_writer_committed() {
    each_engine(|engine| {
        let mut writer = engine.open();
        apply(&mut writer, &[item("a", "A")], at(10, 8));
        let reader = engine.read_only();
        assert_eq!(guids(&reader.items("news", None).expect("items")), ["a"]);
        drop((reader, writer));
        let reader = engine.read_only();
        assert_eq!(reader.health("news").expect("health").item_count, 1);
        let mut reader = reader;
        let write = reader.record_failure("news", "boom", at(11, 8));
        assert!(write.is_err(), "a reader cannot write");
    });
}

#[test]
fn moved_items_keep_their_guid_only_when_title_and_date_point_at_one_item_gone_from_the_page() {
    each_engine(|engine| {
        let mut store = engine.open();
        let with_date =
            |guid: &str, title: &str| Item { date_text: Some("24 November 2022".into()), ..item(guid, title) };
        let stored_items = [
            with_date("http://e.org/a", "A"),
            with_date("http://e.org/b", "Twin"),
            with_date("http://e.org/c", "Twin"),
        ];
        apply(&mut store, &stored_items, at(1, 8));
        let mut observed = seen(&[
            with_date("https://e.org/a", "A"),
            with_date("https://e.org/twin", "Twin"),
            item("https://e.org/undated", "A"),
        ]);
        assert_eq!(store.keep_moved_identities("news", &mut observed).expect("lookup"), 1);
        let guids: Vec<&str> = observed.iter().map(|entry| entry.item.guid.as_str()).collect();
        assert_eq!(
            guids,
            ["http://e.org/a", "https://e.org/twin", "https://e.org/undated"],
            "ambiguous and undated items stay new"
        );
    });
}

#[test]
fn an_undated_moved_item_keeps_its_guid_only_when_its_slug_is_the_same() {
    each_engine(|engine| {
        let mut store = engine.open();
        apply(
            &mut store,
            &[item("http://e.org/-/call-for-experts", "Call"), item("http://e.org/-/other", "Other")],
            at(1, 8),
        );
        let mut observed = seen(&[
            item("https://e.org/news/-/call-for-experts", "Call"),
            item("https://e.org/news/-/renamed-slug", "Other"),
        ]);
        assert_eq!(store.keep_moved_identities("news", &mut observed).expect("lookup"), 1);
        let guids: Vec<&str> = observed.iter().map(|entry| entry.item.guid.as_str()).collect();
        assert_eq!(guids, ["http://e.org/-/call-for-experts", "https://e.org/news/-/renamed-slug"]);
    });
}

#[test]
fn webhook_deliveries_are_queued_once_made_once_and_held_back() {
    each_engine(|engine| {
        let mut store = engine.open();
        assert_eq!(store.webhook_mark("hook", "news").expect("a mark"), None);
        apply(&mut store, &[item("a", "A"), item("b", "B")], at(10, 8));
        let newest = store.newest_item_id(&["news"]).expect("an id");
        let after = store.items_after(&["news"], 0).expect("items");
        let order: Vec<(&str, bool)> =
            after.iter().map(|(id, stored)| (stored.item.guid.as_str(), *id <= newest)).collect();
        assert_eq!(order, [("a", true), ("b", true)], "oldest first, none after the newest id");
        assert_eq!(store.items_after(&["news"], newest).expect("items"), []);
        let bodies: Vec<(String, String, i64)> = after
            .iter()
            .map(|(id, stored)| (stored.item.guid.clone(), format!("{{\"guid\":\"{}\"}}", stored.item.guid), *id))
            .collect();
        store.queue_deliveries("hook", "news", &bodies, newest, at(10, 8)).expect("queued");
        store.queue_deliveries("hook", "news", &bodies, newest, at(10, 9)).expect("queued again");
        assert_eq!(store.webhook_mark("hook", "news").expect("a mark"), Some(newest));
        assert_eq!(store.pending_deliveries("hook").expect("a count"), 2, "a guid is queued once");
        let due = store.due_deliveries("hook", at(10, 8)).expect("due");
        let due: Vec<(&str, u32)> = due.iter().map(|delivery| (delivery.guid.as_str(), delivery.attempts)).collect();
        assert_eq!(due, [("a", 0), ("b", 0)]);

        store.delivery_made("hook", "news", "a", at(10, 8)).expect("made");
        store.delivery_failed("hook", ("news", "b"), 3, "HTTP 500", at(10, 12)).expect("failed");
        assert_eq!(store.pending_deliveries("hook").expect("a count"), 1);
        assert_eq!(store.due_deliveries("hook", at(10, 11)).expect("due"), [], "not before its next attempt");
        store.defer_deliveries("hook", at(10, 20)).expect("held back");
        assert_eq!(store.due_deliveries("hook", at(10, 13)).expect("due"), []);
        let due = store.due_deliveries("hook", at(10, 20)).expect("due");
        assert_eq!((due.len(), due[0].guid.as_str(), due[0].attempts), (1, "b", 3));
        store.queue_deliveries("hook", "news", &[], 0, at(11, 8)).expect("queued");
        assert_eq!(store.webhook_mark("hook", "news").expect("a mark"), Some(newest), "a mark never goes back");
        assert_eq!(store.newest_item_id(&["other"]).expect("an id"), 0);
    });
}
