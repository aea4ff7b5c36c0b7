//! Store engine: the embedded SQLite file (rusqlite, bundled SQLite), the
//! default. One writer at a time (an advisory lock file beside the database),
//! any number of readers (WAL). What the methods do is said on [`Store`]; this
//! module says how SQLite does it.

mod columns;
mod deliveries;
mod items;
mod lock;
mod migrations;
mod sanity;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::migrate::{BATCH_ROWS, Batch, TABLES, Table, Value};
use super::{Announce, ApplyStats, EngineError, FetchState, Health, Observed, Store, StoreError, Unusable};
use crate::model::StoredItem;
use columns::SqlTime;
use lock::StoreLock;
use migrations::MIGRATIONS;

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> StoreError {
        StoreError::Query(EngineError::new(error))
    }
}

/// The open SQLite store. A writing store holds the lock until it is dropped
/// (or [`Store::release_lock`] lets it go between two runs).
pub struct SqliteStore {
    // Fields drop in order: the connection closes (and checkpoints) before the lock goes.
    conn: Connection,
    lock: Option<StoreLock>,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens the store at `path` for writing, creating its folder and the
    /// database on first use and migrating it to the newest schema. Waits up to
    /// `lock_timeout` for another run to release it, then fails with [`StoreError::Busy`].
    /// An existing file that is empty, cut short or not a database is refused.
    pub fn open(path: &Path, lock_timeout: Duration) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(path, lock_timeout, Unusable::Refuse)
    }

    /// [`SqliteStore::open`], with the choice of what to do with an unusable store file.
    pub fn open_with(path: &Path, lock_timeout: Duration, unusable: Unusable) -> Result<SqliteStore, StoreError> {
        if let Some(folder) = path.parent().filter(|folder| !folder.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|source| StoreError::Io { path: folder.to_path_buf(), source })?;
        }
        let lock = StoreLock::acquire(path, lock_timeout)?;
        let io_error = |source| StoreError::Io { path: path.to_path_buf(), source };
        let open_error = |source| open_error(path, source);
        match sanity::inspect(path).map_err(io_error)? {
            sanity::Verdict::Database => {}
            sanity::Verdict::Absent => sanity::create(path, |conn| migrations::migrate(conn, MIGRATIONS.len()))
                .map_err(|error| match error {
                    sanity::CreateError::Io(source) => io_error(source),
                    sanity::CreateError::Sql(source) => open_error(source),
                })?,
            sanity::Verdict::Unusable(reason) => {
                if unusable == Unusable::Refuse {
                    return Err(StoreError::Unusable { store: path.display().to_string(), reason });
                }
                let suffix = Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
                let aside = sanity::move_aside(path, &suffix).map_err(io_error)?;
                tracing::warn!(
                    "the store {} was unusable ({reason}): moved aside to {}",
                    path.display(),
                    aside.display()
                );
            }
        }
        let mut conn = connect_for_writing(path).map_err(open_error)?;
        let found = migrations::version(&conn).map_err(open_error)?;
        if found > MIGRATIONS.len() {
            return Err(StoreError::TooNew { store: path.display().to_string(), found, known: MIGRATIONS.len() });
        }
        migrations::migrate(&mut conn, MIGRATIONS.len())?;
        Ok(SqliteStore { conn, lock: Some(lock), path: path.to_path_buf() })
    }

    /// Opens an existing store for reading only (listing commands): no lock,
    /// no migration, no database or folder created (SQLite may leave its
    /// `-wal`/`-shm` files beside the database). Works while a run is writing.
    pub fn open_read_only(path: &Path) -> Result<SqliteStore, StoreError> {
        if !path.is_file() {
            return Err(StoreError::Missing { store: path.display().to_string() });
        }
        let open_error = |source| open_error(path, source);
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(open_error)?;
        let (found, known) = (migrations::version(&conn).map_err(open_error)?, MIGRATIONS.len());
        let store = path.display().to_string();
        match found.cmp(&known) {
            std::cmp::Ordering::Greater => Err(StoreError::TooNew { store, found, known }),
            std::cmp::Ordering::Less => Err(StoreError::Outdated { store, found, known }),
            std::cmp::Ordering::Equal => Ok(SqliteStore { conn, lock: None, path: path.to_path_buf() }),
        }
    }

    /// How many rows `table` holds (for `octofeed migrate`).
    pub(in crate::store) fn count_rows(&self, table: &Table) -> Result<u64, StoreError> {
        let count: i64 = self.conn.query_row(&format!("SELECT count(*) FROM {}", table.name), [], |row| row.get(0))?;
        Ok(count.unsigned_abs())
    }

    /// Sends every row of every table of [`TABLES`], in batches, for `octofeed
    /// migrate`; stops early when the receiver is gone.
    pub(in crate::store) fn send_rows(&self, batches: &SyncSender<Batch>) -> Result<(), StoreError> {
        for (index, table) in TABLES.iter().enumerate() {
            let columns: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
            let mut statement = self.conn.prepare(&format!("SELECT {} FROM {}", columns.join(", "), table.name))?;
            let mut rows = statement.query([])?;
            let mut batch = Vec::with_capacity(BATCH_ROWS);
            while let Some(row) = rows.next()? {
                let values = (0..columns.len()).map(|column| Ok(transit_value(row.get_ref(column)?)));
                batch.push(values.collect::<rusqlite::Result<Vec<Value>>>()?);
                if batch.len() == BATCH_ROWS && batches.send((index, std::mem::take(&mut batch))).is_err() {
                    return Ok(());
                }
            }
            if !batch.is_empty() && batches.send((index, batch)).is_err() {
                return Ok(());
            }
        }
        Ok(())
    }

    /// The change counters of `source_ids` as JSON `[[id, changes], ...]`.
    fn changes_of(&self, source_ids: &[&str]) -> Result<String, StoreError> {
        let mut statement = self.conn.prepare_cached("SELECT changes FROM sources WHERE id = ?1")?;
        let mut counters = Vec::with_capacity(source_ids.len());
        for id in source_ids {
            let changes: Option<i64> = statement.query_row([id], |row| row.get(0)).optional()?;
            counters.push((id, changes.unwrap_or(0)));
        }
        Ok(super::columns::changes_json(&counters))
    }
}

impl Store for SqliteStore {
    fn release_lock(&mut self) {
        self.lock = None;
    }

    fn take_lock(&mut self, timeout: Duration) -> Result<(), StoreError> {
        if self.lock.is_none() {
            self.lock = Some(StoreLock::acquire(&self.path, timeout)?);
        }
        Ok(())
    }

    fn fetch_state(&self, source_id: &str) -> Result<FetchState, StoreError> {
        let state = self
            .conn
            .prepare_cached("SELECT etag, last_modified, body_hash FROM sources WHERE id = ?1")?
            .query_row([source_id], |row| {
                Ok(FetchState { etag: row.get(0)?, last_modified: row.get(1)?, body_hash: row.get(2)? })
            })
            .optional()?;
        Ok(state.unwrap_or_default())
    }

    fn apply(
        &mut self,
        source_id: &str,
        observed: &[Observed],
        fetch: &FetchState,
        now: DateTime<Utc>,
    ) -> Result<ApplyStats, StoreError> {
        let now = SqlTime::new(now);
        let tx = self.conn.transaction()?;
        let first_items_at: Option<SqlTime> = tx
            .prepare_cached("SELECT first_items_at FROM sources WHERE id = ?1")?
            .query_row([source_id], |row| row.get(0))
            .optional()?
            .flatten();
        let announce = if first_items_at.is_none() { Announce::ByDate } else { Announce::WhenSeen };
        record_success(&tx, source_id, fetch, now)?;
        if first_items_at.is_none() && !observed.is_empty() {
            tx.prepare_cached("UPDATE sources SET first_items_at = ?2 WHERE id = ?1")?.execute((source_id, now))?;
        }
        let mut stats = ApplyStats::default();
        let mut shows_change = false;
        let mut guids = HashSet::new();
        for entry in observed.iter().filter(|entry| guids.insert(entry.item.guid.as_str())) {
            let change = items::upsert(&tx, source_id, entry, now, stats.seen as i64, announce)?;
            shows_change |= change.shows();
            stats.count(change);
        }
        if shows_change {
            tx.prepare_cached("UPDATE sources SET changes = changes + 1 WHERE id = ?1")?.execute([source_id])?;
        }
        tx.commit()?;
        Ok(stats)
    }

    fn titled(
        &self,
        source_id: &str,
        title: &str,
        date_text: Option<&str>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(items::titled(&self.conn, source_id, title, date_text)?)
    }

    fn swap_detected(&mut self, source_id: &str, choice: &str) -> Result<Option<String>, StoreError> {
        let tx = self.conn.transaction()?;
        let previous: Option<String> = tx
            .prepare_cached("SELECT detected FROM sources WHERE id = ?1")?
            .query_row([source_id], |row| row.get(0))
            .optional()?
            .flatten();
        tx.prepare_cached(
            "INSERT INTO sources (id, detected) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET detected = excluded.detected",
        )?
        .execute((source_id, choice))?;
        tx.commit()?;
        Ok(previous)
    }

    fn record_unchanged(&mut self, source_id: &str, fetch: &FetchState, now: DateTime<Utc>) -> Result<(), StoreError> {
        record_success(&self.conn, source_id, fetch, SqlTime::new(now))
    }

    fn record_failure(&mut self, source_id: &str, error: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO sources (id, last_error, last_error_at, consecutive_failures) VALUES (?1, ?2, ?3, 1)
                 ON CONFLICT (id) DO UPDATE SET last_error = excluded.last_error,
                     last_error_at = excluded.last_error_at, consecutive_failures = consecutive_failures + 1",
            )?
            .execute((source_id, error, SqlTime::new(now)))?;
        Ok(())
    }

    fn health(&self, source_id: &str) -> Result<Health, StoreError> {
        let health = self
            .conn
            .prepare_cached(
                "SELECT last_success, last_error, last_error_at, consecutive_failures,
                     (SELECT count(*) FROM items WHERE source_id = sources.id)
                 FROM sources WHERE id = ?1",
            )?
            .query_row([source_id], |row| {
                Ok(Health {
                    last_success: row.get::<_, Option<SqlTime>>(0)?.map(|time| time.0),
                    last_error: row.get(1)?,
                    last_error_at: row.get::<_, Option<SqlTime>>(2)?.map(|time| time.0),
                    consecutive_failures: row.get(3)?,
                    item_count: row.get::<_, i64>(4)?.unsigned_abs(),
                })
            })
            .optional()?;
        Ok(health.unwrap_or_default())
    }

    fn items(&self, source_id: &str, limit: Option<usize>) -> Result<Vec<StoredItem>, StoreError> {
        Ok(items::of_source(&self.conn, source_id, limit)?)
    }

    fn items_of_sources(&self, source_ids: &[&str], limit: Option<usize>) -> Result<Vec<StoredItem>, StoreError> {
        Ok(items::of_sources(&self.conn, source_ids, items::Newest::Published, limit)?)
    }

    fn announced_items(&self, source_ids: &[&str], limit: Option<usize>) -> Result<Vec<StoredItem>, StoreError> {
        Ok(items::of_sources(&self.conn, source_ids, items::Newest::Announced, limit)?)
    }

    fn stored_item(&self, source_id: &str, guid: &str) -> Result<Option<(StoredItem, String)>, StoreError> {
        Ok(items::one(&self.conn, source_id, guid)?)
    }

    fn needs_publish(&self, feed_id: &str, fingerprint: &str, source_ids: &[&str]) -> Result<bool, StoreError> {
        let recorded: Option<(String, String)> = self
            .conn
            .prepare_cached("SELECT fingerprint, sources_changes FROM published WHERE feed_id = ?1")?
            .query_row([feed_id], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        Ok(match recorded {
            None => true,
            Some((recorded_fingerprint, changes)) => {
                recorded_fingerprint != fingerprint || changes != self.changes_of(source_ids)?
            }
        })
    }

    fn mark_published(&mut self, feed_id: &str, fingerprint: &str, source_ids: &[&str]) -> Result<(), StoreError> {
        let changes = self.changes_of(source_ids)?;
        self.conn
            .prepare_cached(
                "INSERT INTO published (feed_id, fingerprint, sources_changes) VALUES (?1, ?2, ?3)
                 ON CONFLICT (feed_id) DO UPDATE SET fingerprint = excluded.fingerprint,
                     sources_changes = excluded.sources_changes",
            )?
            .execute((feed_id, fingerprint, changes))?;
        Ok(())
    }
}

/// Opens (creating) the database in WAL mode: readers (listing commands,
/// `serve`'s pages) never block the writer, and a killed process leaves a
/// consistent database. With WAL, `synchronous = NORMAL` syncs at checkpoints
/// rather than at every commit: an application crash loses nothing committed;
/// only a power loss can lose the last refreshes, which the next run fetches again.
fn connect_for_writing(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(conn)
}

/// Records a successful fetch: its state, its time, and no failure since.
fn record_success(conn: &Connection, source_id: &str, fetch: &FetchState, now: SqlTime) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO sources (id, etag, last_modified, body_hash, last_success) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified,
             body_hash = excluded.body_hash, last_success = excluded.last_success, consecutive_failures = 0",
    )?
    .execute((source_id, &fetch.etag, &fetch.last_modified, &fetch.body_hash, now))?;
    Ok(())
}

fn open_error(path: &Path, source: rusqlite::Error) -> StoreError {
    StoreError::Open { store: path.display().to_string(), source: EngineError::new(source) }
}

/// A SQLite value as `migrate` carries it. Octofeed writes only integers,
/// text and nulls; anything else is carried as text.
fn transit_value(value: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(number) => Value::Int(number),
        ValueRef::Real(number) => Value::Text(number.to_string()),
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => Value::Text(String::from_utf8_lossy(bytes).into_owned()),
    }
}
