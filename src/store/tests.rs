//! Store tests: migrations from every earlier version, a refused newer schema,
//! WAL mode, and one transaction per refresh.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::Connection;

use super::*;

const WAIT: Duration = Duration::from_secs(1);

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, 12, 1, hour, 0, 0).single().expect("a valid time")
}

fn observed(guid: &str, title: &str) -> Observed {
    let item = Item { guid: guid.to_string(), link: guid.to_string(), title: title.to_string(), ..Item::default() };
    Observed { item, listing_hash: format!("hash of {title}") }
}

fn fetched(etag: &str) -> FetchState {
    FetchState { etag: Some(etag.to_string()), last_modified: None, body_hash: Some(format!("body {etag}")) }
}

fn count(store: &Store, table: &str) -> i64 {
    store.connection().query_row(&format!("SELECT count(*) FROM {table}"), [], |row| row.get(0)).expect("a count")
}

/// Rows that are valid at schema version `version`, written with plain SQL as
/// an octofeed of that version would have.
fn insert_rows_of_version(conn: &Connection, version: usize) {
    if version >= 1 {
        let json = serde_json::to_string(&observed("https://example.org/a", "Kept across upgrades").item)
            .expect("an item as JSON");
        conn.execute(
            "INSERT INTO items (source_id, guid, item_json, first_seen_ms, updated_ms, sort_ms, position, listing_hash)
             VALUES ('octopus', 'https://example.org/a', ?1, ?2, ?2, ?2, 0, 'h')",
            params![json, at(1).timestamp_millis()],
        )
        .expect("an item row");
    }
    if version >= 2 {
        conn.execute(
            "INSERT INTO sources (id, etag, last_success_ms, item_count, changes) VALUES ('octopus', '\"v1\"', ?1, 1, 1)",
            [at(1).timestamp_millis()],
        )
        .expect("a source row");
    }
}

#[test]
fn a_new_store_is_created_at_the_newest_version() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("nested/folder/octofeed.db");
    let store = Store::open(&path, WAIT).expect("a new store");
    assert_eq!(version(store.connection()).expect("a version"), MIGRATIONS.len());
    assert_eq!(count(&store, "items"), 0);
    assert!(path.exists());
}

#[test]
fn every_earlier_version_migrates_with_its_data_intact() {
    for start in 0..=MIGRATIONS.len() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("octofeed.db");
        {
            let mut conn = Connection::open(&path).expect("a database");
            migrate_to(&mut conn, start).expect("the earlier schema");
            assert_eq!(version(&conn).expect("a version"), start);
            insert_rows_of_version(&conn, start);
        }
        let store = Store::open(&path, WAIT).expect("an upgraded store");
        assert_eq!(version(store.connection()).expect("a version"), MIGRATIONS.len(), "from version {start}");
        let items = store.items("octopus", None).expect("items");
        let titles: Vec<&str> = items.iter().map(|stored| stored.item.title.as_str()).collect();
        let expected: &[&str] = if start >= 1 { &["Kept across upgrades"] } else { &[] };
        assert_eq!(titles, expected, "from version {start}");
        if start >= 1 {
            assert_eq!(items[0].first_seen, at(1), "from version {start}");
        }
        let etag = store.fetch_state("octopus").expect("a fetch state").etag;
        assert_eq!(etag.as_deref(), (start >= 2).then_some("\"v1\""), "from version {start}");
    }
}

#[test]
fn a_store_from_a_newer_octofeed_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("octofeed.db");
    let newer = MIGRATIONS.len() + 1;
    Connection::open(&path).expect("a database").pragma_update(None, "user_version", newer as i64).expect("a version");
    for result in [Store::open(&path, WAIT), Store::open_read_only(&path)] {
        let error = result.err().expect("a refusal");
        assert!(matches!(error, StoreError::TooNew { found, known } if found == newer && known == MIGRATIONS.len()));
        assert!(error.to_string().contains("newer octofeed"), "{error}");
    }
    let untouched: i64 = Connection::open(&path)
        .expect("a database")
        .query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))
        .expect("a count");
    assert_eq!(untouched, 0, "nothing was created in a newer store");
}

#[test]
fn the_store_runs_in_wal_mode() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let store = Store::open(&dir.path().join("octofeed.db"), WAIT).expect("a store");
    let mode: String =
        store.connection().pragma_query_value(None, "journal_mode", |row| row.get(0)).expect("a journal mode");
    assert_eq!(mode, "wal");
}

#[test]
fn a_refresh_that_fails_mid_apply_leaves_nothing_half_written() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut store = Store::open(&dir.path().join("octofeed.db"), WAIT).expect("a store");
    let first = [observed("a", "A"), observed("b", "B")];
    store.apply("octopus", &first, &fetched("v1"), at(1)).expect("a first refresh");
    // A trigger planted in the test makes the third write of the next refresh fail.
    store
        .connection()
        .execute_batch(
            "CREATE TRIGGER planted BEFORE INSERT ON items WHEN NEW.guid = 'boom'
             BEGIN SELECT RAISE(ABORT, 'planted failure'); END;",
        )
        .expect("a trigger");
    let second = [observed("a", "A, edited"), observed("c", "C"), observed("boom", "Boom")];
    let error = store.apply("octopus", &second, &fetched("v2"), at(2)).expect_err("the planted failure");
    assert!(error.to_string().contains("planted failure"), "{error}");

    let titles: Vec<String> =
        store.items("octopus", None).expect("items").into_iter().map(|stored| stored.item.title).collect();
    assert_eq!(titles, ["A", "B"], "the edit of a and the insert of c were rolled back");
    assert_eq!(store.fetch_state("octopus").expect("a fetch state"), fetched("v1"));
    let health = store.health("octopus").expect("health");
    assert_eq!((health.item_count, health.last_success), (2, Some(at(1))));
}

#[test]
fn apply_keeps_first_seen_and_moves_updated_only_on_a_change() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut store = Store::open(&dir.path().join("octofeed.db"), WAIT).expect("a store");
    let stats = store.apply("s", &[observed("a", "A"), observed("b", "B")], &fetched("1"), at(1)).expect("apply");
    assert_eq!(stats, ApplyStats { seen: 2, new: 2, updated: 0 });
    let again = [observed("a", "A, edited"), observed("b", "B"), observed("a", "A repeated")];
    let stats = store.apply("s", &again, &fetched("2"), at(2)).expect("apply");
    assert_eq!(stats, ApplyStats { seen: 2, new: 0, updated: 1 });
    let stored = store.items("s", None).expect("items");
    let by_guid = |guid: &str| stored.iter().find(|item| item.item.guid == guid).expect("a stored item");
    assert_eq!(
        (by_guid("a").item.title.as_str(), by_guid("a").first_seen, by_guid("a").updated),
        ("A, edited", at(1), at(2))
    );
    assert_eq!((by_guid("b").first_seen, by_guid("b").updated), (at(1), at(1)));
    assert_eq!(store.health("s").expect("health").item_count, 2);
}

#[test]
fn health_counts_failures_until_the_next_success() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut store = Store::open(&dir.path().join("octofeed.db"), WAIT).expect("a store");
    store.apply("s", &[observed("a", "A")], &fetched("1"), at(1)).expect("apply");
    store.record_failure("s", "https://example.org/: HTTP 500", at(2)).expect("a failure");
    store.record_failure("s", "https://example.org/: timed out", at(3)).expect("a failure");
    let health = store.health("s").expect("health");
    assert_eq!(health.consecutive_failures, 2);
    assert_eq!(health.last_error.as_deref(), Some("https://example.org/: timed out"));
    assert_eq!((health.last_error_at, health.last_success, health.item_count), (Some(at(3)), Some(at(1)), 1));
    store.record_unchanged("s", &fetched("1"), at(4)).expect("unchanged");
    let health = store.health("s").expect("health");
    assert_eq!((health.consecutive_failures, health.last_success, health.item_count), (0, Some(at(4)), 1));
}
