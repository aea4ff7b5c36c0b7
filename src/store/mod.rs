//! Store stage: the embedded SQLite history (rusqlite, bundled SQLite) of
//! every item ever seen, each source's fetch state and health, and what each
//! feed was last published from.
//!
//! Plain SQL: it never reads the clock (times are passed in) and knows nothing
//! of HTTP or feed formats.
//!
//! Publication bookkeeping: every [`Store::apply`] that changes anything a feed
//! shows bumps a per-source change counter. [`Store::mark_published`] records,
//! for a feed (a source's or a channel's), a fingerprint of its feed-level
//! settings and the counters of the sources it was built from;
//! [`Store::needs_publish`] compares both with the present. So a channel is
//! dirty when any of its sources changed, without `apply` knowing channels.

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
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::model::{Item, StoredItem};
use columns::SqlTime;
pub use deliveries::{NewItem, PendingDelivery};
use items::{Announce, Change};
use lock::StoreLock;
use migrations::MIGRATIONS;

/// Why the store cannot do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the store's lock.
    #[error("another run is using the store at {} (waited {}); try again when it has finished", path.display(), humantime::format_duration(*waited))]
    Busy { path: PathBuf, waited: std::time::Duration },
    /// A read-only open found no database.
    #[error("the store {} does not exist yet: `octofeed run` creates it", path.display())]
    Missing { path: PathBuf },
    /// The database was written by a newer octofeed.
    #[error(
        "the store at {} has schema version {found}, newer than this octofeed knows ({known}): use a newer octofeed",
        path.display()
    )]
    TooNew { path: PathBuf, found: usize, known: usize },
    /// A read-only open found a database that needs migrating first.
    #[error(
        "the store at {} has schema version {found}, older than this octofeed's ({known}): `octofeed run` upgrades it",
        path.display()
    )]
    Outdated { path: PathBuf, found: usize, known: usize },
    /// The lock file or the store's folder cannot be created or used.
    #[error("cannot use {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// The store file exists but holds no usable database; nothing was changed.
    #[error(
        "the store {} is unusable: {reason}; it was left as it is (restore it from a backup, or run `octofeed run --init` to move it aside and start a new store)",
        path.display()
    )]
    Unusable { path: PathBuf, reason: String },
    /// SQLite cannot open the database (not a database, no permission...).
    #[error("cannot open the store at {}: {source}", path.display())]
    Open { path: PathBuf, source: rusqlite::Error },
    /// A query failed.
    #[error("store error: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// The store behind the mutex a run's tasks share. A panic while it was held
/// leaves SQLite consistent (its transactions roll back), so a poisoned lock
/// is taken as it is.
pub fn lock(shared: &std::sync::Mutex<Store>) -> std::sync::MutexGuard<'_, Store> {
    shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A source's conditional-request validators and the hash of the last page read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchState {
    /// The `ETag` of the last successful response.
    pub etag: Option<String>,
    /// The `Last-Modified` of the last successful response.
    pub last_modified: Option<String>,
    /// A hash of the last body read, to skip extraction when it is the same.
    pub body_hash: Option<String>,
}

/// A source's health, as `run --json` and `/healthz` show it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Health {
    /// When the source last refreshed without error.
    pub last_success: Option<DateTime<Utc>>,
    /// The last error, kept after later successes (see `consecutive_failures`).
    pub last_error: Option<String>,
    /// When `last_error` happened.
    pub last_error_at: Option<DateTime<Utc>>,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// Items stored for the source.
    pub item_count: u64,
}

/// An item as a refresh saw it, with a hash of what the listing page said
/// about it (so an article page is fetched again only when that changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The item, normalized, with its guid.
    pub item: Item,
    /// A hash of the item's entry on the listing page, stored with the item.
    pub listing_hash: String,
}

/// What one refresh did to a source's items.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyStats {
    /// Distinct items on the page.
    pub seen: usize,
    /// Items first seen now.
    pub new: usize,
    /// Items whose title, summary, content or date text changed.
    pub updated: usize,
}

impl ApplyStats {
    fn count(&mut self, change: Change) {
        self.seen += 1;
        match change {
            Change::New => self.new += 1,
            Change::Updated => self.updated += 1,
            Change::Refreshed | Change::Same => {}
        }
    }
}

/// The open store. A writing store holds the lock until it is dropped (or
/// [`Store::release_lock`] lets it go between two runs).
pub struct Store {
    // Fields drop in order: the connection closes (and checkpoints) before the lock goes.
    conn: Connection,
    lock: Option<StoreLock>,
    path: PathBuf,
}

/// What [`Store::open`] does with a store file that holds no usable database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    /// Fail with [`StoreError::Unusable`] and leave the file as it is.
    Refuse,
    /// Move it aside (`<name>.unusable-<time>`) and start a new store (`run --init`).
    StartAfresh,
}

impl Store {
    /// Opens the store at `path` for writing, creating its folder and the
    /// database on first use and migrating it to the newest schema. Waits up to
    /// `lock_timeout` for another run to release it, then fails with [`StoreError::Busy`].
    /// An existing file that is empty, cut short or not a database is refused.
    pub fn open(path: &Path, lock_timeout: Duration) -> Result<Store, StoreError> {
        Store::open_with(path, lock_timeout, Unusable::Refuse)
    }

    /// [`Store::open`], with the choice of what to do with an unusable store file.
    pub fn open_with(path: &Path, lock_timeout: Duration, unusable: Unusable) -> Result<Store, StoreError> {
        if let Some(folder) = path.parent().filter(|folder| !folder.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|source| StoreError::Io { path: folder.to_path_buf(), source })?;
        }
        let lock = StoreLock::acquire(path, lock_timeout)?;
        let io_error = |source| StoreError::Io { path: path.to_path_buf(), source };
        let open_error = |source| StoreError::Open { path: path.to_path_buf(), source };
        match sanity::inspect(path).map_err(io_error)? {
            sanity::Verdict::Database => {}
            sanity::Verdict::Absent => sanity::create(path, |conn| migrations::migrate(conn, MIGRATIONS.len()))
                .map_err(|error| match error {
                    sanity::CreateError::Io(source) => io_error(source),
                    sanity::CreateError::Sql(source) => open_error(source),
                })?,
            sanity::Verdict::Unusable(reason) => {
                if unusable == Unusable::Refuse {
                    return Err(StoreError::Unusable { path: path.to_path_buf(), reason });
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
            return Err(StoreError::TooNew { path: path.to_path_buf(), found, known: MIGRATIONS.len() });
        }
        migrations::migrate(&mut conn, MIGRATIONS.len())?;
        Ok(Store { conn, lock: Some(lock), path: path.to_path_buf() })
    }

    /// Lets other processes write between two runs of a long-lived process
    /// (`serve`); [`Store::take_lock`] takes it back before the next one.
    pub fn release_lock(&mut self) {
        self.lock = None;
    }

    /// Takes the store's lock again after [`Store::release_lock`], waiting up to
    /// `timeout`; does nothing when it is held (or the store is read-only).
    pub fn take_lock(&mut self, timeout: Duration) -> Result<(), StoreError> {
        if self.lock.is_none() {
            self.lock = Some(StoreLock::acquire(&self.path, timeout)?);
        }
        Ok(())
    }

    /// Opens an existing store for reading only (listing commands): no lock,
    /// no migration, no database or folder created (SQLite may leave its
    /// `-wal`/`-shm` files beside the database). Works while a run is writing.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        if !path.is_file() {
            return Err(StoreError::Missing { path: path.to_path_buf() });
        }
        let open_error = |source| StoreError::Open { path: path.to_path_buf(), source };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(open_error)?;
        let (found, known) = (migrations::version(&conn).map_err(open_error)?, MIGRATIONS.len());
        let path = path.to_path_buf();
        match found.cmp(&known) {
            std::cmp::Ordering::Greater => Err(StoreError::TooNew { path, found, known }),
            std::cmp::Ordering::Less => Err(StoreError::Outdated { path, found, known }),
            std::cmp::Ordering::Equal => Ok(Store { conn, lock: None, path }),
        }
    }

    /// The validators and body hash recorded by the source's last success.
    pub fn fetch_state(&self, source_id: &str) -> Result<FetchState, StoreError> {
        let state = self
            .conn
            .prepare_cached("SELECT etag, last_modified, body_hash FROM sources WHERE id = ?1")?
            .query_row([source_id], |row| {
                Ok(FetchState { etag: row.get(0)?, last_modified: row.get(1)?, body_hash: row.get(2)? })
            })
            .optional()?;
        Ok(state.unwrap_or_default())
    }

    /// Records one refresh in one transaction: every observed item is inserted
    /// (with `position` = its place among `observed`) or brought up to date,
    /// the fetch state and a success are recorded, and the source's feeds are
    /// marked dirty when anything they show changed. An existing item keeps its
    /// guid, first-seen time and position; its `updated` time moves only when
    /// its title, summary, content or date text changed (other fields are
    /// refreshed without it). Items absent from `observed` stay: history.
    /// Repeated guids in `observed`: the first wins.
    pub fn apply(
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

    /// Items that moved to a new address keep their identity: an observed item
    /// whose guid is new, but whose title and date text match exactly one stored
    /// item of the source that is not on the page any more, takes that item's
    /// guid (its new link is stored as a change of link). This is what a site's
    /// move to https, to new slugs or to a new path prefix looks like. An undated
    /// item needs more than its title: the last segment of its link (its slug)
    /// must be the stored one's too. Returns how many items were given back their guid.
    pub fn keep_moved_identities(&self, source_id: &str, observed: &mut [Observed]) -> Result<usize, StoreError> {
        let on_page: HashSet<String> = observed.iter().map(|entry| entry.item.guid.clone()).collect();
        let mut adopted: HashSet<String> = HashSet::new();
        let mut moved = 0;
        for entry in observed.iter_mut() {
            if items::one(&self.conn, source_id, &entry.item.guid)?.is_some() {
                continue;
            }
            let date_text = entry.item.date_text.as_deref();
            let slug = last_segment(&entry.item.link);
            let candidates: Vec<String> = items::titled(&self.conn, source_id, &entry.item.title, date_text)?
                .into_iter()
                .filter(|(guid, link)| {
                    !on_page.contains(guid)
                        && !adopted.contains(guid)
                        && (date_text.is_some() || slug.is_some_and(|slug| last_segment(link) == Some(slug)))
                })
                .map(|(guid, _)| guid)
                .collect();
            if let [old] = candidates.as_slice() {
                adopted.insert(old.clone());
                entry.item.guid = old.clone();
                moved += 1;
            }
        }
        Ok(moved)
    }

    /// A success with nothing to extract (304, or the same body as last time):
    /// records the fetch state and the success only.
    /// Records what detection chose for `source_id` and returns what it chose before.
    pub fn swap_detected(&mut self, source_id: &str, choice: &str) -> Result<Option<String>, StoreError> {
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

    pub fn record_unchanged(
        &mut self,
        source_id: &str,
        fetch: &FetchState,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        record_success(&self.conn, source_id, fetch, SqlTime::new(now))
    }

    /// A failed refresh: counts it; the source's items and fetch state stay as they were.
    pub fn record_failure(&mut self, source_id: &str, error: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO sources (id, last_error, last_error_at, consecutive_failures) VALUES (?1, ?2, ?3, 1)
                 ON CONFLICT (id) DO UPDATE SET last_error = excluded.last_error,
                     last_error_at = excluded.last_error_at, consecutive_failures = consecutive_failures + 1",
            )?
            .execute((source_id, error, SqlTime::new(now)))?;
        Ok(())
    }

    /// The source's health; all empty for a source never refreshed.
    pub fn health(&self, source_id: &str) -> Result<Health, StoreError> {
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

    /// The source's items, newest first: by date (else first-seen time), then
    /// page position, then guid; at most `limit`.
    pub fn items(&self, source_id: &str, limit: Option<usize>) -> Result<Vec<StoredItem>, StoreError> {
        Ok(items::of_source(&self.conn, source_id, limit)?)
    }

    /// The items of several sources in one list, ordered as [`Store::items`]
    /// (then by source id), at most `limit`.
    pub fn items_of_sources(&self, source_ids: &[&str], limit: Option<usize>) -> Result<Vec<StoredItem>, StoreError> {
        Ok(items::of_sources(&self.conn, source_ids, items::Newest::Published, limit)?)
    }

    /// The items of several sources newest first by their newsletter date
    /// ([`StoredItem::announced`]), at most `limit`.
    pub fn announced_items(&self, source_ids: &[&str], limit: Option<usize>) -> Result<Vec<StoredItem>, StoreError> {
        Ok(items::of_sources(&self.conn, source_ids, items::Newest::Announced, limit)?)
    }

    /// The stored item with this guid and its listing hash, to decide whether
    /// its article page must be fetched again.
    pub fn stored_item(&self, source_id: &str, guid: &str) -> Result<Option<(StoredItem, String)>, StoreError> {
        Ok(items::one(&self.conn, source_id, guid)?)
    }

    /// Whether a feed must be written again: it was never published, or its
    /// settings' `fingerprint` differs from the one recorded, or its sources
    /// (`source_ids`, in the caller's order) changed since it was written.
    pub fn needs_publish(&self, feed_id: &str, fingerprint: &str, source_ids: &[&str]) -> Result<bool, StoreError> {
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

    /// Records that a feed was written with `fingerprint` from the present state of `source_ids`.
    pub fn mark_published(&mut self, feed_id: &str, fingerprint: &str, source_ids: &[&str]) -> Result<(), StoreError> {
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

    /// The change counters of `source_ids` as JSON `[[id, changes], ...]`.
    fn changes_of(&self, source_ids: &[&str]) -> Result<String, StoreError> {
        let mut statement = self.conn.prepare_cached("SELECT changes FROM sources WHERE id = ?1")?;
        let mut counters = Vec::with_capacity(source_ids.len());
        for id in source_ids {
            let changes: Option<i64> = statement.query_row([id], |row| row.get(0)).optional()?;
            counters.push((id, changes.unwrap_or(0)));
        }
        let json = serde_json::to_string(&counters);
        Ok(json.map_err(|error| rusqlite::Error::ToSqlConversionFailure(error.into()))?)
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
/// The last non-empty path segment of a URL: an article's slug.
fn last_segment(link: &str) -> Option<&str> {
    let path = link.split(['?', '#']).next()?;
    path.trim_end_matches('/').rsplit('/').next().filter(|segment| !segment.is_empty() && !segment.contains(':'))
}

fn record_success(conn: &Connection, source_id: &str, fetch: &FetchState, now: SqlTime) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO sources (id, etag, last_modified, body_hash, last_success) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified,
             body_hash = excluded.body_hash, last_success = excluded.last_success, consecutive_failures = 0",
    )?
    .execute((source_id, &fetch.etag, &fetch.last_modified, &fetch.body_hash, now))?;
    Ok(())
}
