//! Store stage: the embedded SQLite history (rusqlite, bundled SQLite) of
//! every item ever seen, each source's fetch state and health, and what each
//! feed was last published from.
//!
//! Plain SQL; it never reads the clock (times are passed in) and knows
//! nothing of HTTP or feed formats.

mod lock;
mod migrations;
#[cfg(test)]
mod tests;

pub use lock::lock_path;
pub use migrations::{MIGRATIONS, migrate_to, version};

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::model::{Item, StoredItem};
use lock::StoreLock;

/// Why the store cannot do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("another run is using the store at {} (waited {}); try again when it has finished", path.display(), humantime::format_duration(*waited))]
    Busy { path: PathBuf, waited: Duration },
    #[error("the store {} does not exist yet: run `octofeed run` first", path.display())]
    Missing { path: PathBuf },
    #[error(
        "the store was written by a newer octofeed (schema version {found}; this one knows {known}): upgrade octofeed"
    )]
    TooNew { found: usize, known: usize },
    #[error("cannot use {}: {error}", path.display())]
    Io { path: PathBuf, error: std::io::Error },
    #[error("store error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("a stored item is unreadable: {0}")]
    Corrupt(#[from] serde_json::Error),
}

/// A source's conditional-request validators and the hash of the last page read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchState {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub body_hash: Option<String>,
}

/// A source's health, as `run --json` and `/healthz` show it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    pub item_count: u64,
}

/// An item as a refresh saw it, with the hash of its listing entry (so an
/// article page is fetched again only when the listing changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub item: Item,
    pub listing_hash: String,
}

/// What one refresh changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyStats {
    pub seen: usize,
    pub new: usize,
    pub updated: usize,
}

/// The open store.
pub struct Store {
    conn: Connection,
    _lock: Option<StoreLock>,
}

const ITEM_COLUMNS: &str = "source_id, item_json, first_seen_ms, updated_ms, position";

impl Store {
    /// Opens (creating it and its folder on first use) the store at `path` for
    /// writing, waiting up to `lock_timeout` for another run to finish with it.
    pub fn open(path: &Path, lock_timeout: Duration) -> Result<Store, StoreError> {
        if let Some(folder) = path.parent().filter(|folder| !folder.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|error| StoreError::Io { path: folder.to_path_buf(), error })?;
        }
        let lock = StoreLock::acquire(path, lock_timeout)?;
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(lock_timeout)?;
        // WAL: readers never block the writer, and a killed process leaves a
        // consistent database. With WAL, synchronous=NORMAL loses no committed
        // transaction when the process dies, only (at worst) the last ones on power loss.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        migrations::migrate(&mut conn)?;
        Ok(Store { conn, _lock: Some(lock) })
    }

    /// Opens an existing store for reading only: no lock, nothing created.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing { path: path.to_path_buf() });
        }
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let found = version(&conn)?;
        if found > MIGRATIONS.len() {
            return Err(StoreError::TooNew { found, known: MIGRATIONS.len() });
        }
        Ok(Store { conn, _lock: None })
    }

    /// The validators and body hash recorded by the source's last success.
    pub fn fetch_state(&self, source_id: &str) -> Result<FetchState, StoreError> {
        let state = self
            .conn
            .query_row("SELECT etag, last_modified, body_hash FROM sources WHERE id = ?1", [source_id], |row| {
                Ok(FetchState { etag: row.get(0)?, last_modified: row.get(1)?, body_hash: row.get(2)? })
            })
            .optional()?;
        Ok(state.unwrap_or_default())
    }

    /// Records one refresh in one transaction: every observed item is inserted
    /// or updated (items absent from `observed` stay: history), the fetch state
    /// and a success are recorded. An existing item keeps its guid, first-seen
    /// time and position; its `updated` time moves only when its title,
    /// summary, content or date text changed. Repeated guids: the first wins.
    pub fn apply(
        &mut self,
        source_id: &str,
        observed: &[Observed],
        fetch: &FetchState,
        now: DateTime<Utc>,
    ) -> Result<ApplyStats, StoreError> {
        let now_ms = now.timestamp_millis();
        let tx = self.conn.transaction()?;
        let mut stats = ApplyStats::default();
        let mut seen_guids = std::collections::HashSet::new();
        let mut next_position = 0i64;
        for entry in observed {
            if !seen_guids.insert(entry.item.guid.as_str()) {
                continue;
            }
            stats.seen += 1;
            match upsert(&tx, source_id, entry, now_ms, next_position)? {
                Upsert::New => {
                    stats.new += 1;
                    next_position += 1;
                }
                Upsert::Updated => stats.updated += 1,
                Upsert::Same => {}
            }
        }
        let changed = i64::from(stats.new + stats.updated > 0);
        tx.execute(
            "INSERT INTO sources (id, etag, last_modified, body_hash, last_success_ms, consecutive_failures, item_count, changes)
             VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7)
             ON CONFLICT (id) DO UPDATE SET etag = ?2, last_modified = ?3, body_hash = ?4, last_success_ms = ?5,
                 consecutive_failures = 0, item_count = item_count + ?6, changes = changes + ?7",
            params![source_id, fetch.etag, fetch.last_modified, fetch.body_hash, now_ms, stats.new as i64, changed],
        )?;
        tx.commit()?;
        Ok(stats)
    }

    /// A success with nothing new to read (304, or the same page as last time).
    pub fn record_unchanged(
        &mut self,
        source_id: &str,
        fetch: &FetchState,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO sources (id, etag, last_modified, body_hash, last_success_ms) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET etag = ?2, last_modified = ?3, body_hash = ?4, last_success_ms = ?5,
                 consecutive_failures = 0",
            params![source_id, fetch.etag, fetch.last_modified, fetch.body_hash, now.timestamp_millis()],
        )?;
        Ok(())
    }

    /// A failed refresh: its items and fetch state stay as they were.
    pub fn record_failure(&mut self, source_id: &str, error: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO sources (id, last_error, last_error_ms, consecutive_failures) VALUES (?1, ?2, ?3, 1)
             ON CONFLICT (id) DO UPDATE SET last_error = ?2, last_error_ms = ?3,
                 consecutive_failures = consecutive_failures + 1",
            params![source_id, error, now.timestamp_millis()],
        )?;
        Ok(())
    }

    /// The source's health; all empty for a source never refreshed.
    pub fn health(&self, source_id: &str) -> Result<Health, StoreError> {
        let health = self
            .conn
            .query_row(
                "SELECT last_success_ms, last_error, last_error_ms, consecutive_failures, item_count
                 FROM sources WHERE id = ?1",
                [source_id],
                |row| {
                    Ok(Health {
                        last_success: row.get::<_, Option<i64>>(0)?.and_then(from_ms),
                        last_error: row.get(1)?,
                        last_error_at: row.get::<_, Option<i64>>(2)?.and_then(from_ms),
                        consecutive_failures: row.get(3)?,
                        item_count: row.get::<_, i64>(4)?.max(0) as u64,
                    })
                },
            )
            .optional()?;
        Ok(health.unwrap_or_default())
    }

    /// The source's items, newest first (by date, else first-seen time; then
    /// page position; then guid), at most `limit`.
    pub fn items(&self, source_id: &str, limit: Option<usize>) -> Result<Vec<StoredItem>, StoreError> {
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM items WHERE source_id = ?1
             ORDER BY sort_ms DESC, position ASC, guid ASC LIMIT ?2"
        );
        let mut statement = self.conn.prepare_cached(&sql)?;
        let rows = statement.query_map(params![source_id, sql_limit(limit)], read_row)?;
        collect(rows)
    }

    /// The items of several sources in one list, in the same order as [`Store::items`].
    pub fn items_of_sources(&self, source_ids: &[&str], limit: Option<usize>) -> Result<Vec<StoredItem>, StoreError> {
        let ids = serde_json::to_string(source_ids)?;
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM items WHERE source_id IN (SELECT value FROM json_each(?1))
             ORDER BY sort_ms DESC, position ASC, guid ASC, source_id ASC LIMIT ?2"
        );
        let mut statement = self.conn.prepare_cached(&sql)?;
        let rows = statement.query_map(params![ids, sql_limit(limit)], read_row)?;
        collect(rows)
    }

    /// The stored item with this guid and the listing hash it was stored with.
    pub fn stored_item(&self, source_id: &str, guid: &str) -> Result<Option<(StoredItem, String)>, StoreError> {
        let sql = format!("SELECT {ITEM_COLUMNS}, listing_hash FROM items WHERE source_id = ?1 AND guid = ?2");
        let mut statement = self.conn.prepare_cached(&sql)?;
        let row = statement
            .query_row(params![source_id, guid], |row| Ok((read_row(row)?, row.get::<_, String>(5)?)))
            .optional()?;
        match row {
            Some((stored, hash)) => Ok(Some((stored?, hash))),
            None => Ok(None),
        }
    }

    /// Whether a feed must be written again: its items changed since it was
    /// last published (any of `source_ids` refreshed with changes), or its
    /// feed-level settings (`fingerprint`) differ, or it was never published.
    pub fn needs_publish(&self, feed_id: &str, fingerprint: &str, source_ids: &[&str]) -> Result<bool, StoreError> {
        let recorded: Option<(String, String)> = self
            .conn
            .query_row("SELECT fingerprint, changes FROM published WHERE feed_id = ?1", [feed_id], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()?;
        let Some((recorded_fingerprint, recorded_changes)) = recorded else {
            return Ok(true);
        };
        Ok(recorded_fingerprint != fingerprint || recorded_changes != self.changes_of(source_ids)?)
    }

    /// Records that a feed was written from the current state of `source_ids`.
    pub fn mark_published(&mut self, feed_id: &str, fingerprint: &str, source_ids: &[&str]) -> Result<(), StoreError> {
        let changes = self.changes_of(source_ids)?;
        self.conn.execute(
            "INSERT INTO published (feed_id, fingerprint, changes) VALUES (?1, ?2, ?3)
             ON CONFLICT (feed_id) DO UPDATE SET fingerprint = ?2, changes = ?3",
            params![feed_id, fingerprint, changes],
        )?;
        Ok(())
    }

    /// `id=changes` of each source, in the order given: a summary of how far each has moved.
    fn changes_of(&self, source_ids: &[&str]) -> Result<String, StoreError> {
        let mut statement = self.conn.prepare_cached("SELECT changes FROM sources WHERE id = ?1")?;
        let mut parts = Vec::with_capacity(source_ids.len());
        for id in source_ids {
            let changes: Option<i64> = statement.query_row([id], |row| row.get(0)).optional()?;
            parts.push(format!("{id}={}", changes.unwrap_or(0)));
        }
        Ok(parts.join(";"))
    }

    /// The underlying connection, for checks such as `PRAGMA integrity_check`.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

enum Upsert {
    New,
    Updated,
    Same,
}

fn upsert(
    tx: &rusqlite::Transaction,
    source_id: &str,
    entry: &Observed,
    now_ms: i64,
    position: i64,
) -> Result<Upsert, StoreError> {
    let item = &entry.item;
    let json = serde_json::to_string(item)?;
    let existing: Option<(String, i64)> = tx
        .prepare_cached("SELECT item_json, first_seen_ms FROM items WHERE source_id = ?1 AND guid = ?2")?
        .query_row(params![source_id, item.guid], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let Some((old_json, first_seen_ms)) = existing else {
        let sort_ms = item.published.map_or(now_ms, |date| date.timestamp_millis());
        tx.prepare_cached(
            "INSERT INTO items (source_id, guid, item_json, first_seen_ms, updated_ms, sort_ms, position, listing_hash)
             VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![source_id, item.guid, json, now_ms, sort_ms, position, entry.listing_hash])?;
        return Ok(Upsert::New);
    };
    if old_json == json {
        // Nothing to write, but the listing hash may have moved (a new extraction of the same item).
        tx.prepare_cached(
            "UPDATE items SET listing_hash = ?3 WHERE source_id = ?1 AND guid = ?2 AND listing_hash <> ?3",
        )?
        .execute(params![source_id, item.guid, entry.listing_hash])?;
        return Ok(Upsert::Same);
    }
    let old: Item = serde_json::from_str(&old_json)?;
    let changed = old.title != item.title
        || old.summary != item.summary
        || old.content != item.content
        || old.date_text != item.date_text;
    let sort_ms = item.published.map_or(first_seen_ms, |date| date.timestamp_millis());
    let bump = if changed { "updated_ms = ?5," } else { "" };
    let sql = format!(
        "UPDATE items SET item_json = ?3, {bump} sort_ms = ?4, listing_hash = ?6 WHERE source_id = ?1 AND guid = ?2"
    );
    let mut statement = tx.prepare_cached(&sql)?;
    if changed {
        statement.execute(params![source_id, item.guid, json, sort_ms, now_ms, entry.listing_hash])?;
    } else {
        statement.execute(params![source_id, item.guid, json, sort_ms, entry.listing_hash])?;
    }
    Ok(if changed { Upsert::Updated } else { Upsert::Same })
}

fn read_row(row: &rusqlite::Row) -> rusqlite::Result<Result<StoredItem, StoreError>> {
    let source_id: String = row.get(0)?;
    let json: String = row.get(1)?;
    let first_seen_ms: i64 = row.get(2)?;
    let updated_ms: i64 = row.get(3)?;
    let position: i64 = row.get(4)?;
    Ok(serde_json::from_str::<Item>(&json).map_err(StoreError::from).map(|item| StoredItem {
        source_id,
        item,
        first_seen: from_ms(first_seen_ms).unwrap_or_default(),
        updated: from_ms(updated_ms).unwrap_or_default(),
        position,
    }))
}

fn collect(
    rows: impl Iterator<Item = rusqlite::Result<Result<StoredItem, StoreError>>>,
) -> Result<Vec<StoredItem>, StoreError> {
    rows.map(|row| row?).collect()
}

fn sql_limit(limit: Option<usize>) -> i64 {
    limit.map_or(-1, |limit| i64::try_from(limit).unwrap_or(i64::MAX))
}

fn from_ms(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}
