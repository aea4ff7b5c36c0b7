//! SQLite engine tests: what only the file store has (WAL, its lock, its
//! migrations from every earlier version, refused files, query plans). What
//! every engine does is tested on each in `tests/store.rs`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::Connection;
use tempfile::TempDir;

use super::migrations::{MIGRATIONS, migrate};
use super::*;
use crate::model::Item;
use crate::store::{FetchState, Observed, StoreError};

const NO_WAIT: Duration = Duration::ZERO;

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, day, hour, 0, 0).single().expect("a valid time")
}

fn item(guid: &str, title: &str) -> Item {
    Item { guid: guid.into(), link: guid.into(), title: title.into(), ..Item::default() }
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

fn open(scratch: &Scratch) -> SqliteStore {
    SqliteStore::open(&scratch.path, NO_WAIT).expect("the store opens")
}

fn apply(store: &mut SqliteStore, items: &[Item], now: DateTime<Utc>) -> ApplyStats {
    store.apply("news", &seen(items), &fetched("e"), now).expect("apply")
}

fn stored(store: &SqliteStore, guid: &str) -> StoredItem {
    store.stored_item("news", guid).expect("a query").expect("the item is stored").0
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
    for error in [SqliteStore::open(&scratch.path, NO_WAIT).err(), SqliteStore::open_read_only(&scratch.path).err()] {
        assert!(matches!(error, Some(StoreError::TooNew { .. })), "{error:?}");
    }
}

#[test]
fn a_second_writer_waits_then_is_told_the_store_is_busy() {
    let scratch = scratch();
    let first = open(&scratch);
    let started = Instant::now();
    let error = SqliteStore::open(&scratch.path, Duration::from_millis(200)).err();
    let waited = started.elapsed();
    let Some(StoreError::Busy { store, .. }) = &error else { panic!("expected Busy, got {error:?}") };
    assert_eq!(store, &scratch.path.display().to_string());
    let message = error.as_ref().map(ToString::to_string).unwrap_or_default();
    let expected = format!("another run is using the store at {} (waited 200ms)", scratch.path.display());
    assert!(message.starts_with(&expected), "{message}");
    assert!(waited >= Duration::from_millis(200) && waited < Duration::from_secs(2), "waited {waited:?}");
    drop(first);
    open(&scratch);
}

#[test]
fn a_read_only_open_of_a_missing_store_says_so_and_creates_nothing() {
    let scratch = scratch();
    let error = SqliteStore::open_read_only(&scratch.path).err();
    assert!(matches!(error, Some(StoreError::Missing { .. })), "{error:?}");
    let message = error.map(|error| error.to_string()).unwrap_or_default();
    assert!(message.contains(&scratch.path.display().to_string()), "{message}");
    assert!(!scratch.path.parent().expect("a folder").exists(), "nothing was created");
}

/// The query plan of `sql`, one step a line.
fn plan(store: &SqliteStore, sql: &str, params: impl rusqlite::Params) -> String {
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
    let error = SqliteStore::open(&scratch.path, NO_WAIT).err().expect("an empty store is refused");
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
    let error = SqliteStore::open(&scratch.path, NO_WAIT).err().expect("a cut-short store is refused");
    assert!(error.to_string().contains("cut short"), "{error}");
    assert_eq!(std::fs::read(&scratch.path).expect("left as it was").len(), bytes.len() / 2);
    let fresh = SqliteStore::open_with(&scratch.path, NO_WAIT, Unusable::StartAfresh).expect("--init starts afresh");
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
fn stored_columns_are_read_by_position_in_their_order() {
    let scratch = scratch();
    let store = open(&scratch);
    let statement =
        store.conn.prepare(&format!("SELECT {} FROM items", columns::STORED_COLUMNS)).expect("a valid query");
    assert_eq!(statement.column_count(), columns::STORED_COLUMNS_LEN);
    let names: Vec<&str> = statement.column_names().collect();
    assert_eq!((names[0], names[1], names[14], names[18]), ("source_id", "guid", "first_seen", "listing_hash"));
}
