//! Store tests: history across runs, health, publication bookkeeping,
//! migrations, the lock and the query plans. Each uses its own temporary folder.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::Connection;
use tempfile::TempDir;

use super::migrations::{MIGRATIONS, migrate};
use super::*;
use crate::model::Enclosure;

const NO_WAIT: Duration = Duration::ZERO;

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

struct Scratch {
    _dir: TempDir,
    path: PathBuf,
}

fn scratch() -> Scratch {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("data").join("octofeed.db");
    Scratch { _dir: dir, path }
}

fn open(scratch: &Scratch) -> Store {
    Store::open(&scratch.path, NO_WAIT).expect("the store opens")
}

fn guids(items: &[StoredItem]) -> Vec<&str> {
    items.iter().map(|stored| stored.item.guid.as_str()).collect()
}

fn apply(store: &mut Store, items: &[Item], now: DateTime<Utc>) -> ApplyStats {
    store.apply("news", &seen(items), &fetched("e"), now).expect("apply")
}

fn stored(store: &Store, guid: &str) -> StoredItem {
    store.stored_item("news", guid).expect("a query").expect("the item is stored").0
}

#[test]
fn first_run_creates_the_folder_and_stores_every_item() {
    let scratch = scratch();
    let mut store = open(&scratch);
    let stats = apply(&mut store, &[dated("a", "A", 2), item("b", "B")], at(10, 8));
    assert_eq!(stats, ApplyStats { seen: 2, new: 2, updated: 0 });
    let items = store.items("news", None).expect("items");
    assert_eq!(guids(&items), ["b", "a"], "undated b was first seen on the 10th, after a's date");
    assert_eq!(items[0].first_seen, at(10, 8));
    assert_eq!(items[0].updated, at(10, 8));
    assert_eq!(items[1].item, dated("a", "A", 2));
}

#[test]
fn the_store_runs_in_wal_mode_with_foreign_keys_enforced() {
    let scratch = scratch();
    let store = open(&scratch);
    let journal: String = store.conn.pragma_query_value(None, "journal_mode", |row| row.get(0)).expect("a mode");
    let foreign_keys: i64 = store.conn.pragma_query_value(None, "foreign_keys", |row| row.get(0)).expect("a flag");
    assert_eq!((journal.as_str(), foreign_keys), ("wal", 1));
    let orphan = store.conn.execute(
        "INSERT INTO items (source_id, guid, link, title, authors, categories, enclosures, first_seen, updated,
             position, listing_hash, published) VALUES ('nobody', 'g', 'l', 't', '[]', '[]', '[]', 'x', 'x', 0, 'h', 'x')",
        [],
    );
    assert!(orphan.is_err(), "an item needs its source");
}

#[test]
fn a_second_run_keeps_the_union_with_identity_and_first_seen() {
    let scratch = scratch();
    let mut store = open(&scratch);
    apply(&mut store, &[dated("a", "A", 2), item("b", "B")], at(10, 8));
    drop(store);
    let mut store = open(&scratch);
    let stats = apply(&mut store, &[dated("c", "C", 3), dated("a", "A", 2)], at(11, 8));
    assert_eq!(stats, ApplyStats { seen: 2, new: 1, updated: 0 });
    let items = store.items("news", None).expect("items");
    assert_eq!(guids(&items), ["b", "c", "a"]);
    let a = stored(&store, "a");
    assert_eq!((a.first_seen, a.updated, a.published()), (at(10, 8), at(10, 8), at(2, 0)));
    assert_eq!(stored(&store, "b").published(), at(10, 8), "b left the page and stays, as first seen");
    assert_eq!(store.health("news").expect("health").item_count, 3);
}

#[test]
fn an_undated_item_keeps_its_first_seen_time_across_runs() {
    let scratch = scratch();
    let mut store = open(&scratch);
    for day in 10..13 {
        apply(&mut store, &[item("b", "B")], at(day, 8));
    }
    let b = stored(&store, "b");
    assert_eq!((b.first_seen, b.updated, b.published()), (at(10, 8), at(10, 8), at(10, 8)));
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
        let scratch = scratch();
        let mut store = open(&scratch);
        apply(&mut store, std::slice::from_ref(&base), at(10, 8));
        let stats = apply(&mut store, std::slice::from_ref(&changed), at(11, 8));
        assert_eq!(stats, ApplyStats { seen: 1, new: 0, updated: 1 }, "{changed:?}");
        let a = stored(&store, "a");
        assert_eq!((a.item, a.first_seen, a.updated), (changed, at(10, 8), at(11, 8)));
    }
}

#[test]
fn an_unchanged_item_is_not_updated() {
    let scratch = scratch();
    let mut store = open(&scratch);
    let a = Item { summary: Some("s".into()), content: Some("c".into()), ..dated("a", "A", 2) };
    apply(&mut store, std::slice::from_ref(&a), at(10, 8));
    let stats = apply(&mut store, &[a], at(11, 8));
    assert_eq!(stats, ApplyStats { seen: 1, new: 0, updated: 0 });
    assert_eq!(stored(&store, "a").updated, at(10, 8));
}

#[test]
fn other_fields_are_refreshed_without_counting_as_updates() {
    let scratch = scratch();
    let mut store = open(&scratch);
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
    let stored = stored(&store, "a");
    assert_eq!((stored.item, stored.updated), (refreshed, at(10, 8)));
}

#[test]
fn repeated_guids_are_one_item_and_the_first_wins() {
    let scratch = scratch();
    let mut store = open(&scratch);
    let stats = apply(&mut store, &[item("a", "first"), item("b", "B"), item("a", "second")], at(10, 8));
    assert_eq!(stats, ApplyStats { seen: 2, new: 2, updated: 0 });
    assert_eq!(stored(&store, "a").item.title, "first");
}

#[test]
fn undated_items_first_seen_together_keep_page_order() {
    let scratch = scratch();
    let mut store = open(&scratch);
    apply(&mut store, &[item("z", "Z"), item("m", "M"), item("a", "A")], at(10, 8));
    apply(&mut store, &[item("new", "N"), item("z", "Z"), item("m", "M"), item("a", "A")], at(11, 8));
    let items = store.items("news", None).expect("items");
    assert_eq!(guids(&items), ["new", "z", "m", "a"]);
    let positions: Vec<i64> = items.iter().map(|stored| stored.position).collect();
    assert_eq!(positions, [0, 0, 1, 2], "an item keeps the position it was first seen at");
}

#[test]
fn the_limit_cuts_the_query_not_the_store() {
    let scratch = scratch();
    let mut store = open(&scratch);
    let items: Vec<Item> = (1..=5).map(|day| dated(&format!("d{day}"), "D", day)).collect();
    apply(&mut store, &items, at(10, 8));
    assert_eq!(guids(&store.items("news", Some(2)).expect("items")), ["d5", "d4"]);
    assert_eq!(store.items("news", Some(0)).expect("items"), []);
    assert_eq!(store.items("news", None).expect("items").len(), 5);
    assert_eq!(store.health("news").expect("health").item_count, 5);
}

#[test]
fn times_round_trip_to_the_nanosecond() {
    let scratch = scratch();
    let mut store = open(&scratch);
    let now = at(10, 8) + chrono::Duration::nanoseconds(123_456_789);
    let published = at(2, 0) + chrono::Duration::nanoseconds(1);
    let a = Item { published: Some(published), ..item("a", "A") };
    apply(&mut store, std::slice::from_ref(&a), now);
    let stored = stored(&store, "a");
    assert_eq!((stored.first_seen, stored.updated, stored.item), (now, now, a));
    assert_eq!(store.health("news").expect("health").last_success, Some(now));
}

#[test]
fn a_failure_counts_and_keeps_items_and_fetch_state() {
    let scratch = scratch();
    let mut store = open(&scratch);
    apply(&mut store, &[item("a", "A")], at(10, 8));
    store.record_failure("news", "https://example.org/: HTTP 503", at(11, 8)).expect("failure recorded");
    store.record_failure("news", "https://example.org/: timed out", at(12, 8)).expect("failure recorded");
    let health = store.health("news").expect("health");
    assert_eq!(health.consecutive_failures, 2);
    assert_eq!(health.last_error.as_deref(), Some("https://example.org/: timed out"));
    assert_eq!((health.last_error_at, health.last_success, health.item_count), (Some(at(12, 8)), Some(at(10, 8)), 1));
    assert_eq!(store.fetch_state("news").expect("fetch state"), fetched("e"));
    assert_eq!(guids(&store.items("news", None).expect("items")), ["a"]);
}

#[test]
fn a_success_resets_the_failure_count_and_keeps_the_last_error() {
    let scratch = scratch();
    let mut store = open(&scratch);
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
}

#[test]
fn fetch_state_round_trips_and_is_empty_for_a_new_source() {
    let scratch = scratch();
    let mut store = open(&scratch);
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
}

#[test]
fn the_stored_item_comes_with_its_listing_hash() {
    let scratch = scratch();
    let mut store = open(&scratch);
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
}

#[test]
fn items_of_sources_merge_newest_first_and_tag_each_source() {
    let scratch = scratch();
    let mut store = open(&scratch);
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
}

#[test]
fn a_refresh_is_one_transaction() {
    let scratch = scratch();
    let mut store = open(&scratch);
    store
        .conn
        .execute_batch(
            "CREATE TEMP TRIGGER refuse BEFORE INSERT ON items WHEN new.guid = 'bad'
             BEGIN SELECT RAISE(ABORT, 'refused'); END;",
        )
        .expect("a trigger");
    let result = store.apply("news", &seen(&[item("a", "A"), item("bad", "Bad")]), &fetched("e"), at(10, 8));
    assert!(result.is_err());
    assert_eq!(store.items("news", None).expect("items"), []);
    assert_eq!(store.fetch_state("news").expect("fetch state"), FetchState::default());
    assert_eq!(store.health("news").expect("health"), Health::default());
}

#[test]
fn feeds_are_dirty_until_published_and_again_when_their_sources_change() {
    let scratch = scratch();
    let mut store = open(&scratch);
    let channel = ["news", "other"];
    let dirty =
        |store: &Store, feed: &str, sources: &[&str]| store.needs_publish(feed, "f1", sources).expect("bookkeeping");
    assert!(dirty(&store, "news", &["news"]), "never published");
    apply(&mut store, &[item("a", "A")], at(10, 8));
    store.mark_published("news", "f1", &["news"]).expect("marked");
    store.mark_published("all", "f1", &channel).expect("marked");
    assert!(!dirty(&store, "news", &["news"]));
    assert!(!dirty(&store, "all", &channel));
    assert!(store.needs_publish("news", "f2", &["news"]).expect("bookkeeping"), "settings changed");

    apply(&mut store, &[item("a", "A")], at(11, 8));
    store.record_unchanged("news", &fetched("e"), at(12, 8)).expect("success recorded");
    store.record_failure("news", "boom", at(13, 8)).expect("failure recorded");
    assert!(!dirty(&store, "news", &["news"]), "nothing a feed shows changed");

    apply(&mut store, &[Item { image: Some("https://example.org/a.png".into()), ..item("a", "A") }], at(14, 8));
    assert!(dirty(&store, "news", &["news"]), "a silent refresh still changes the feed");
    assert!(dirty(&store, "all", &channel), "the channel follows its source");
    store.mark_published("news", "f1", &["news"]).expect("marked");
    assert!(!dirty(&store, "news", &["news"]));
    assert!(dirty(&store, "all", &channel), "the channel is not published yet");
    assert!(dirty(&store, "all", &["news"]), "a channel whose sources changed");
}

#[test]
fn the_store_migrates_from_every_earlier_version() {
    for version in 0..=MIGRATIONS.len() {
        let scratch = scratch();
        std::fs::create_dir_all(scratch.path.parent().expect("a folder")).expect("folder");
        // Version 0 is no store at all: an empty file is refused (see `an_empty_store_file_is_refused`).
        if version >= 1 {
            let mut conn = Connection::open(&scratch.path).expect("a database");
            migrate(&mut conn, version).expect("migrations up to the version");
            insert_v1_data(&conn);
        }
        let mut store = open(&scratch);
        assert_eq!(migrations::version(&store.conn).expect("version"), MIGRATIONS.len());
        if version >= 1 {
            let a = stored(&store, "a");
            assert_eq!(
                (a.item.title.as_str(), a.first_seen, a.item.authors.len()),
                ("A", at(10, 8), 1),
                "from v{version}"
            );
            assert_eq!(store.fetch_state("news").expect("fetch state"), fetched("e"));
            assert_eq!(store.health("news").expect("health").consecutive_failures, 2);
        }
        let stats = apply(&mut store, &[item("a", "A"), item("b", "B")], at(11, 8));
        assert_eq!((stats.new, stats.updated), (usize::from(version == 0) + 1, 0), "from v{version}");
        assert_eq!(stored(&store, "a").first_seen, if version == 0 { at(11, 8) } else { at(10, 8) });
        assert!(store.needs_publish("news", "f", &["news"]).expect("bookkeeping"));
    }
}

/// Rows as a version-1 store held them.
fn insert_v1_data(conn: &Connection) {
    conn.execute_batch(
        "INSERT INTO sources (id, etag, body_hash, last_success, consecutive_failures)
             VALUES ('news', 'e', 'body-e', '2024-05-10T08:00:00.000000000Z', 2);
         INSERT INTO items (source_id, guid, link, title, authors, categories, enclosures, first_seen, updated,
                            position, listing_hash, published)
             VALUES ('news', 'a', 'a', 'A', '[\"Ann\"]', '[]', '[]', '2024-05-10T08:00:00.000000000Z',
                     '2024-05-10T08:00:00.000000000Z', 0, '\"A\"', '2024-05-10T08:00:00.000000000Z');",
    )
    .expect("version-1 rows");
}

#[test]
fn a_store_from_a_newer_octofeed_is_refused() {
    let scratch = scratch();
    drop(open(&scratch));
    let conn = Connection::open(&scratch.path).expect("a database");
    conn.pragma_update(None, "user_version", MIGRATIONS.len() as i64 + 1).expect("version set");
    drop(conn);
    for error in [Store::open(&scratch.path, NO_WAIT).err(), Store::open_read_only(&scratch.path).err()] {
        assert!(matches!(error, Some(StoreError::TooNew { .. })), "{error:?}");
    }
}

#[test]
fn a_second_writer_waits_then_is_told_the_store_is_busy() {
    let scratch = scratch();
    let first = open(&scratch);
    let started = Instant::now();
    let error = Store::open(&scratch.path, Duration::from_millis(200)).err();
    let waited = started.elapsed();
    let Some(StoreError::Busy { path, .. }) = &error else { panic!("expected Busy, got {error:?}") };
    assert_eq!(path, &scratch.path);
    let message = error.as_ref().map(ToString::to_string).unwrap_or_default();
    let expected = format!("another run is using the store at {} (waited 200ms)", scratch.path.display());
    assert!(message.starts_with(&expected), "{message}");
    assert!(waited >= Duration::from_millis(200) && waited < Duration::from_secs(2), "waited {waited:?}");
    drop(first);
    open(&scratch);
}

#[test]
fn a_reader_needs_no_lock_and_sees_what_the_writer_committed() {
    let scratch = scratch();
    let mut writer = open(&scratch);
    apply(&mut writer, &[item("a", "A")], at(10, 8));
    let reader = Store::open_read_only(&scratch.path).expect("opens while the writer is open");
    assert_eq!(guids(&reader.items("news", None).expect("items")), ["a"]);
    drop((reader, writer));
    let reader = Store::open_read_only(&scratch.path).expect("opens after the writer closed");
    assert_eq!(reader.health("news").expect("health").item_count, 1);
    let write = reader.conn.execute("DELETE FROM items", []);
    assert!(write.is_err(), "a reader cannot write");
}

#[test]
fn a_read_only_open_of_a_missing_store_says_so_and_creates_nothing() {
    let scratch = scratch();
    let error = Store::open_read_only(&scratch.path).err();
    assert!(matches!(error, Some(StoreError::Missing { .. })), "{error:?}");
    let message = error.map(|error| error.to_string()).unwrap_or_default();
    assert!(message.contains(&scratch.path.display().to_string()), "{message}");
    assert!(!scratch.path.parent().expect("a folder").exists(), "nothing was created");
}

/// The query plan of `sql`, one step a line.
fn plan(store: &Store, sql: &str, params: impl rusqlite::Params) -> String {
    let mut statement = store.conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).expect("a plan");
    let steps = statement.query_map(params, |row| row.get::<_, String>(3)).expect("plan rows");
    steps.collect::<Result<Vec<_>, _>>().expect("plan rows").join("\n")
}

#[test]
fn the_publish_queries_walk_the_index_of_their_sources_only() {
    let scratch = scratch();
    let store = open(&scratch);
    let one = plan(
        &store,
        "SELECT * FROM items WHERE source_id = ?1 ORDER BY published DESC, position ASC, guid ASC LIMIT ?2",
        ("news", 10),
    );
    assert!(one.contains("USING INDEX items_newest (source_id=?)"), "{one}");
    assert!(!one.contains("TEMP B-TREE"), "{one}");
    let many = plan(
        &store,
        "SELECT id FROM items WHERE source_id IN (SELECT value FROM json_each(?1))
         ORDER BY published DESC, position ASC, guid ASC, source_id ASC LIMIT ?2",
        ("[\"news\"]", 10),
    );
    assert!(many.contains("USING COVERING INDEX items_newest (source_id=?)"), "{many}");
    let health = plan(&store, "SELECT count(*) FROM items WHERE source_id = ?1", ["news"]);
    assert!(health.contains("(source_id=?)"), "{health}");
}

/// A source's item as a busy news page gives it: a dated article with a summary and ~1 KB of content.
fn article(source: usize, index: usize) -> Item {
    let published = at(1, 0) - chrono::Duration::hours((index * 7 + source) as i64);
    Item {
        guid: format!("https://example.org/{source}/news/{index}"),
        link: format!("https://example.org/{source}/news/{index}"),
        title: format!("Source {source} news item number {index}: a headline of ordinary length"),
        summary: Some("A summary of a couple of sentences, as a listing page shows it. ".repeat(3)),
        content: Some(format!(
            "<p>{}</p>",
            "Article body text with <a href=\"https://example.org/\">links</a>. ".repeat(15)
        )),
        published: Some(published),
        date_text: Some(published.format("%d %B %Y").to_string()),
        categories: vec!["cybercrime".into(), format!("topic-{}", index % 7)],
        ..Item::default()
    }
}

/// The median of `runs` timings of `work`, in milliseconds.
fn median_ms(runs: usize, mut work: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            work();
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[runs / 2]
}

/// Fills a store with `sources` × 200 items and prints the timings of the hot paths.
fn measure(sources: usize) {
    let scratch = scratch();
    let mut store = open(&scratch);
    let ids: Vec<String> = (0..sources).map(|source| format!("source-{source}")).collect();
    let started = Instant::now();
    for (source, id) in ids.iter().enumerate() {
        let page: Vec<Item> = (0..200).map(|index| article(source, index)).collect();
        store.apply(id, &seen(&page), &fetched("e"), at(1, 0)).expect("apply");
    }
    let fill = started.elapsed();
    let page: Vec<Observed> = seen(&(0..30).map(|index| article(7, index)).collect::<Vec<_>>());
    let apply_ms = median_ms(21, || {
        let stats = store.apply("source-7", &page, &fetched("e"), at(2, 0)).expect("apply");
        assert_eq!((stats.new, stats.updated), (0, 0));
    });
    let items_ms = median_ms(21, || assert_eq!(store.items("source-7", Some(100)).expect("items").len(), 100));
    let channel: Vec<&str> = ids.iter().take(200).map(String::as_str).collect();
    let channel_ms = median_ms(21, || {
        assert_eq!(store.items_of_sources(&channel, Some(200)).expect("items").len(), 200);
    });
    let unlimited_ms = median_ms(5, || {
        assert_eq!(store.items_of_sources(&channel, None).expect("items").len(), 200 * 200);
    });
    drop(store);
    let size = std::fs::metadata(&scratch.path).expect("the database").len();
    println!(
        "{} items in {sources} sources (filled in {:.1} s, {:.1} MB): apply 30 unchanged {apply_ms:.2} ms, \
         items(100) {items_ms:.2} ms, items_of_sources(200 sources, 200) {channel_ms:.2} ms, \
         without a limit {unlimited_ms:.0} ms",
        sources * 200,
        fill.as_secs_f64(),
        size as f64 / 1e6,
    );
}

#[test]
#[ignore = "a measurement to run by hand: cargo test --release -- --ignored --nocapture"]
fn measure_the_hot_paths_at_50_000_and_100_000_items() {
    measure(250);
    measure(500);
}

#[test]
fn an_empty_store_file_is_refused_and_left_as_it_is() {
    let scratch = scratch();
    std::fs::create_dir_all(scratch.path.parent().expect("a folder")).expect("folder");
    std::fs::write(&scratch.path, b"").expect("an empty file");
    let error = Store::open(&scratch.path, NO_WAIT).err().expect("an empty store is refused");
    assert!(matches!(error, StoreError::Unusable { .. }), "{error}");
    assert!(error.to_string().contains("--init"), "{error}");
    assert_eq!(std::fs::metadata(&scratch.path).expect("still there").len(), 0);
}

#[test]
fn a_cut_short_store_is_refused_and_init_moves_it_aside() {
    let scratch = scratch();
    let mut store = open(&scratch);
    apply(&mut store, &[item("a", "A")], at(10, 8));
    drop(store);
    let bytes = std::fs::read(&scratch.path).expect("the store file");
    std::fs::write(&scratch.path, &bytes[..bytes.len() / 2]).expect("cut short");
    let error = Store::open(&scratch.path, NO_WAIT).err().expect("a cut-short store is refused");
    assert!(error.to_string().contains("cut short"), "{error}");
    assert_eq!(std::fs::read(&scratch.path).expect("left as it was").len(), bytes.len() / 2);
    let fresh = Store::open_with(&scratch.path, NO_WAIT, Unusable::StartAfresh).expect("--init starts afresh");
    assert_eq!(fresh.health("news").expect("health"), Health::default());
    let folder = scratch.path.parent().expect("a folder");
    let aside: Vec<_> = std::fs::read_dir(folder)
        .expect("the folder")
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("octofeed.db.unusable-"))
        .collect();
    assert_eq!(aside.len(), 1, "the old bytes are kept aside");
}

#[test]
fn moved_items_keep_their_guid_only_when_title_and_date_point_at_one_item_gone_from_the_page() {
    let scratch = scratch();
    let mut store = open(&scratch);
    let with_date = |guid: &str, title: &str| Item { date_text: Some("24 November 2022".into()), ..item(guid, title) };
    let stored_items =
        [with_date("http://e.org/a", "A"), with_date("http://e.org/b", "Twin"), with_date("http://e.org/c", "Twin")];
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
}

#[test]
fn an_undated_moved_item_keeps_its_guid_only_when_its_slug_is_the_same() {
    let scratch = scratch();
    let mut store = open(&scratch);
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
}
